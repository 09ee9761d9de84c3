package mailbox

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"

	message "github.com/emersion/go-message"
	"github.com/emersion/go-message/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/unicode"
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
// into a bytes.Reader that io.Copy copies without a buffer. Bodies keep
// the streaming reader.
func charsetReader(label string, input io.Reader) (io.Reader, error) {
	br, ok := input.(*bytes.Reader)
	if !ok || br.Len() > maxWordBytes {
		return charset.Reader(label, input)
	}
	enc, err := charsetEncoding(label)
	if err != nil {
		return nil, err
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
