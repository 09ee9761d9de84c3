package mailbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	message "github.com/emersion/go-message"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

func init() {
	// go-message decodes headers and addresses with message.CharsetReader
	// (go-message/charset.Reader, set by that package's init).
	message.CharsetReader = charsetReader
}

// maxWordBytes is the most one encoded word holds (RFC 2047 caps a word at
// 75 characters; generous for malformed ones).
const maxWordBytes = 4 << 10

// charsetReader is go-message/charset.Reader, quicker for the encoded
// words of headers ("=?windows-1251?B?...?="). mime.WordDecoder copies
// each word through the reader it returns with io.Copy: a 32 KiB copy
// buffer and the converter's 8 KiB of buffers for a few bytes of text,
// a third of all the memory parsing a request allocated. A word (a
// bytes.Reader of at most maxWordBytes) is converted at once instead,
// into a bytes.Reader that io.Copy copies without a buffer. Bodies are
// converted as they are read (decodingReader).
func charsetReader(label string, input io.Reader) (io.Reader, error) {
	enc, err := charsetEncoding(label)
	if err != nil {
		return nil, err
	}
	br, ok := input.(*bytes.Reader)
	if !ok || br.Len() > maxWordBytes {
		return newDecodingReader(input, enc.NewDecoder()), nil
	}
	src := make([]byte, br.Len())
	n, _ := br.Read(src)
	out, err := enc.NewDecoder().Bytes(src[:n])
	if err != nil {
		return errReader{err}, nil // as the streaming reader fails at its first read
	}
	return bytes.NewReader(out), nil
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// charsetQuirks is go-message/charset's table of charsets ianaindex does
// not handle.
var charsetQuirks = map[string]encoding.Encoding{
	"ansi_x3.110-1983": charmap.ISO8859_1,
	"x-utf_8j":         unicode.UTF8,
}

// encodingsByLabel caches charsetEncoding: the index lookups cost more
// than converting a word.
var encodingsByLabel sync.Map // string → encodingLookup

type encodingLookup struct {
	enc encoding.Encoding
	err error
}

// charsetEncoding finds label's encoding as go-message/charset.Reader
// does; TestCharsetReaderMatchesGoMessage checks they agree.
func charsetEncoding(label string) (encoding.Encoding, error) {
	if v, ok := encodingsByLabel.Load(label); ok {
		l := v.(encodingLookup)
		return l.enc, l.err
	}
	var err error
	enc, ok := charsetQuirks[strings.ToLower(label)]
	if !ok {
		enc, err = ianaindex.MIME.Encoding(label)
	}
	if enc == nil {
		enc, err = ianaindex.MIME.Encoding("cs" + label)
	}
	if enc == nil {
		enc, err = htmlindex.Get(label)
	}
	if err != nil {
		err = fmt.Errorf("charset %q: %v", label, err)
	} else if enc == nil {
		err = fmt.Errorf("charset %q: unsupported charset", label)
	}
	if err != nil {
		enc = nil
	}
	// Labels come from mail: only known ones, as the word decoders pass
	// them (lower case), are kept, so the cache stays small.
	if err == nil && label == strings.ToLower(label) {
		encodingsByLabel.Store(label, encodingLookup{enc, err})
	}
	return enc, err
}

// decodingReader is transform.NewReader(r, t) (what Decoder.Reader gives)
// with its two 4 KiB buffers taken from a pool, and given back, cleared,
// once it has handed on all it will give: transform.NewReader makes them
// anew for each text part in a charset other than UTF-8, a tenth of all
// the memory parsing allocated. A part not read to its end (cut at the
// text limit, or past the part limit) leaves its buffers to the
// collector, as before. Read is transform.Reader's, step for step:
// TestDecodingReaderMatchesTransform compares the two.
type decodingReader struct {
	r   io.Reader
	t   transform.Transformer
	err error

	// buf holds dst and src, nil once given back.
	buf *[2 * decodingBufSize]byte

	// dst[dst0:dst1] contains bytes that have been transformed by t but
	// not yet copied out via Read.
	dst        []byte
	dst0, dst1 int

	// src[src0:src1] contains bytes that have been read from r but not
	// yet transformed through t.
	src        []byte
	src0, src1 int

	// transformComplete is whether the transformation is complete,
	// regardless of whether or not it was successful.
	transformComplete bool
}

// decodingBufSize is transform.Reader's buffer size.
const decodingBufSize = 4096

var decodingBufPool = sync.Pool{New: func() any { return new([2 * decodingBufSize]byte) }}

// errInconsistentByteCount is transform's error of that text.
var errInconsistentByteCount = errors.New("transform: inconsistent byte count returned")

func newDecodingReader(r io.Reader, t transform.Transformer) *decodingReader {
	t.Reset()
	buf := decodingBufPool.Get().(*[2 * decodingBufSize]byte)
	return &decodingReader{r: r, t: t, buf: buf, dst: buf[:decodingBufSize], src: buf[decodingBufSize:]}
}

// done gives the buffers back, all zeros (no message text waits in the
// pool): r.r and r.t may have written anywhere in the slices they were
// given. Read returns nothing more from them.
func (r *decodingReader) done() {
	if r.buf == nil {
		return
	}
	clear(r.buf[:])
	decodingBufPool.Put(r.buf)
	r.buf, r.dst, r.src = nil, nil, nil
}

// Read is transform.Reader.Read, giving the buffers back (done) where it
// returns the final error.
func (r *decodingReader) Read(p []byte) (int, error) {
	n, err := 0, error(nil)
	for {
		// Copy out any transformed bytes and return the final error if we are done.
		if r.dst0 != r.dst1 {
			n = copy(p, r.dst[r.dst0:r.dst1])
			r.dst0 += n
			if r.dst0 == r.dst1 && r.transformComplete {
				r.done()
				return n, r.err
			}
			return n, nil
		} else if r.transformComplete {
			r.done()
			return 0, r.err
		}

		// Try to transform some source bytes, or to flush the transformer if we
		// are out of source bytes. We do this even if r.r.Read returned an error.
		// As the io.Reader documentation says, "process the n > 0 bytes returned
		// before considering the error".
		if r.src0 != r.src1 || r.err != nil {
			r.dst0 = 0
			r.dst1, n, err = r.t.Transform(r.dst, r.src[r.src0:r.src1], r.err == io.EOF)
			r.src0 += n

			switch {
			case err == nil:
				if r.src0 != r.src1 {
					r.err = errInconsistentByteCount
				}
				// The Transform call was successful; we are complete if we
				// cannot read more bytes into src.
				r.transformComplete = r.err != nil
				continue
			case err == transform.ErrShortDst && (r.dst1 != 0 || n != 0):
				// Make room in dst by copying out, and try again.
				continue
			case err == transform.ErrShortSrc && r.src1-r.src0 != len(r.src) && r.err == nil:
				// Read more bytes into src via the code below, and try again.
			default:
				r.transformComplete = true
				// The reader error (r.err) takes precedence over the
				// transformer error (err) unless r.err is nil or io.EOF.
				if r.err == nil || r.err == io.EOF {
					r.err = err
				}
				continue
			}
		}

		// Move any untransformed source bytes to the start of the buffer
		// and read more bytes.
		if r.src0 != 0 {
			r.src0, r.src1 = 0, copy(r.src, r.src[r.src0:r.src1])
		}
		n, r.err = r.r.Read(r.src[r.src1:])
		r.src1 += n
	}
}
