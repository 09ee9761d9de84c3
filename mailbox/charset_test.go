package mailbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"mime"
	"mime/quotedprintable"
	"strings"
	"testing"

	"github.com/emersion/go-message/charset"
	"golang.org/x/text/transform"
)

// TestCharsetReaderMatchesGoMessage checks that charsetReader converts
// encoded words exactly as go-message/charset.Reader does, for charsets
// mail uses, odd spellings and unknown ones, on valid and random bytes.
func TestCharsetReaderMatchesGoMessage(t *testing.T) {
	labels := []string{"windows-1251", "koi8-r", "gb18030", "gbk", "gb2312", "big5", "iso-2022-jp", "shift_jis",
		"euc-jp", "euc-kr", "iso-8859-1", "iso-8859-2", "iso-8859-15", "latin1", "cp1252", "windows-1252",
		"utf-8", "us-ascii", "utf-16", "utf-16le", "ansi_x3.110-1983", "x-utf_8j", "8859_1", "ibm866",
		"macintosh", "tis-620", "windows-874", "x-unknown", "", "utf-7", "WINDOWS-1251", "Shift_JIS"}
	rng := rand.New(rand.NewSource(1))
	inputs := [][]byte{nil, []byte("plain"), []byte("\xcf\xf0\xe8\xe2\xe5\xf2"), []byte("\x1b$B$3$s$K$A$O\x1b(B"),
		[]byte("\xc4\xe3\xba\xc3"), []byte("\xff\xfe\x00\xd8")}
	for i := 0; i < 200; i++ {
		b := make([]byte, rng.Intn(60))
		rng.Read(b)
		inputs = append(inputs, b)
	}
	for _, label := range labels {
		for _, in := range inputs {
			want, wantErr := readAllFrom(charset.Reader(label, bytes.NewReader(in)))
			got, gotErr := readAllFrom(charsetReader(label, bytes.NewReader(in)))
			if (wantErr == nil) != (gotErr == nil) || !bytes.Equal(got, want) {
				t.Fatalf("%s %q: got %q, %v; go-message gives %q, %v", label, in, got, gotErr, want, wantErr)
			}
		}
	}
	// Whole headers, through mime's word decoder, as go-message reads them.
	theirs := &mime.WordDecoder{CharsetReader: charset.Reader}
	for _, h := range []string{"=?windows-1251?B?z/Do4uXy?= =?koi8-r?Q?=F0=D2=C9=D7=C5=D4?=", "=?gb18030?B?xOO6ww==?= x",
		"=?iso-2022-jp?B?GyRCJDMkcyRLJEEkTxsoQg==?=", "=?x-unknown?Q?abc?=", "=?utf-8?Q?caf=C3=A9?=", "plain"} {
		w, werr := theirs.DecodeHeader(h)
		g, gerr := wordDecoder.DecodeHeader(h)
		if w != g || (werr == nil) != (gerr == nil) {
			t.Errorf("DecodeHeader(%q) = %q, %v; go-message's gives %q, %v", h, g, gerr, w, werr)
		}
	}
}

func readAllFrom(r io.Reader, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// TestDecodingReaderMatchesTransform checks that the readers charsetReader
// gives for bodies hand on, Read by Read, the bytes and errors of
// go-message's (transform.NewReader), for charsets mail uses and unknown
// ones, on sources that give their bytes in chunks of random sizes and
// end in EOF, with it, or with another error, read into buffers of random
// sizes; then for transformers that fail, stop short or miscount, which
// the decoders never do. Once a reader has given its final error its
// buffers are back, cleared.
func TestDecodingReaderMatchesTransform(t *testing.T) {
	labels := []string{"windows-1251", "koi8-r", "gb18030", "big5", "iso-2022-jp", "shift_jis", "euc-kr",
		"iso-8859-1", "iso-8859-15", "utf-16", "utf-16le", "ansi_x3.110-1983", "x-utf_8j", "x-unknown", "WINDOWS-1251"}
	rng := rand.New(rand.NewSource(1))
	texts := [][]byte{nil, []byte("plain"), []byte("\xcf\xf0\xe8\xe2\xe5\xf2 \xc4\xe3\xba\xc3"), []byte("\x1b$B$3$s$K$A$O\x1b(B"),
		bytes.Repeat([]byte("\xcf\xf0\xe8 \x1b$B$3$s\x1b(B \xc4\xe3\r\n"), 900)}
	input := func() []byte {
		if rng.Intn(3) > 0 {
			return texts[rng.Intn(len(texts))]
		}
		b := make([]byte, rng.Intn(10000))
		rng.Read(b)
		return b
	}
	compare := func(what string, in []byte, want io.Reader, got *decodingReader, seed int64) {
		t.Helper()
		reads := rand.New(rand.NewSource(seed))
		buf := got.buf
		var wb, gb [9000]byte
		for step := 0; ; step++ {
			size := []int{0, 1, 7, 512, 4096, 9000}[reads.Intn(6)]
			wn, werr := want.Read(wb[:size])
			gn, gerr := got.Read(gb[:size])
			if wn != gn || !bytes.Equal(wb[:wn], gb[:gn]) || fmt.Sprint(werr) != fmt.Sprint(gerr) {
				t.Fatalf("%s %q, read %d of %d bytes: %q, %v; transform.Reader %q, %v", what, in, step, size, gb[:gn], gerr, wb[:wn], werr)
			}
			if werr != nil {
				if got.buf != nil {
					t.Fatalf("%s %q: the buffers were not given back", what, in)
				}
				if i := bytes.IndexFunc(buf[:], func(r rune) bool { return r != 0 }); i >= 0 {
					t.Fatalf("%s %q: the buffers were given back holding text at %d", what, in, i)
				}
				if step > 0 && reads.Intn(2) == 0 {
					// Read again after the end: the same error, nothing more.
					gn, gerr = got.Read(gb[:])
					if gn != 0 || fmt.Sprint(werr) != fmt.Sprint(gerr) {
						t.Fatalf("%s %q: read after the end gives %d, %v", what, in, gn, gerr)
					}
				}
				return
			}
		}
	}
	ends := []error{io.EOF, io.ErrUnexpectedEOF, errors.New("connection lost")}
	for i := 0; i < 1500; i++ {
		label := labels[rng.Intn(len(labels))]
		in := input()
		end, withLast := ends[rng.Intn(len(ends))], rng.Intn(2) == 0
		seed := rng.Int63()
		want, wantErr := charset.Reader(label, &chunkReader{b: in, rng: rand.New(rand.NewSource(seed)), end: end, withLast: withLast})
		got, gotErr := charsetReader(label, &chunkReader{b: in, rng: rand.New(rand.NewSource(seed)), end: end, withLast: withLast})
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("%s: charsetReader gives %v; go-message %v", label, gotErr, wantErr)
		}
		if wantErr != nil {
			continue
		}
		compare(label, in, want, got.(*decodingReader), seed)
	}
	for i := 0; i < 1500; i++ {
		in := input()
		end, withLast := ends[rng.Intn(len(ends))], rng.Intn(2) == 0
		seed := rng.Int63()
		tr := oddTransformer{mode: i % 4}
		want := transform.NewReader(&chunkReader{b: in, rng: rand.New(rand.NewSource(seed)), end: end, withLast: withLast}, tr)
		got := newDecodingReader(&chunkReader{b: in, rng: rand.New(rand.NewSource(seed)), end: end, withLast: withLast}, tr)
		compare(fmt.Sprintf("mode %d", tr.mode), in, want, got, seed)
	}
}

// chunkReader gives b in chunks of random sizes, then end (with the last
// chunk when withLast).
type chunkReader struct {
	b        []byte
	rng      *rand.Rand
	end      error
	withLast bool
}

func (c *chunkReader) Read(p []byte) (int, error) {
	n := min(len(p), len(c.b), []int{0, 1, 3, 100, 5000}[c.rng.Intn(5)])
	copy(p, c.b[:n])
	c.b = c.b[n:]
	if len(c.b) == 0 && (n == 0 || c.withLast) {
		return n, c.end
	}
	return n, nil
}

// oddTransformer copies bytes, byte 0xFF failing (mode 0), stopping short
// for want of source bytes (mode 1) or destination room (mode 2), or
// consuming fewer bytes than it was given without an error (mode 3).
type oddTransformer struct{ mode int }

func (oddTransformer) Reset() {}

func (o oddTransformer) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	for nSrc < len(src) {
		c := src[nSrc]
		if c == 0xFF {
			switch o.mode {
			case 0:
				return nDst, nSrc, errors.New("odd byte")
			case 1:
				if !atEOF {
					return nDst, nSrc, transform.ErrShortSrc
				}
			case 2:
				return nDst, nSrc, transform.ErrShortDst
			case 3:
				return nDst, nSrc, nil
			}
		}
		if nDst == len(dst) {
			return nDst, nSrc, transform.ErrShortDst
		}
		dst[nDst] = c
		nDst++
		nSrc++
	}
	return nDst, nSrc, nil
}

// TestQPDecodeMatchesReader checks that qpDecode gives what io.ReadAll of
// an io.LimitReader of quotedprintable.Reader gives, bytes and error, for
// quoted-printable text good and broken (bad escapes, "=" before a line
// end or the end, spaces after "=", control bytes, CR alone, 8-bit bytes,
// lines of and around bufio's 4 KiB), every limit around their ends and
// random ones, and a buffer with text in it already.
func TestQPDecodeMatchesReader(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	pieces := []string{"Hello", " ", "\t", "=C3=A9", "=c3=a9", "=3D", "=\r\n", "=\n", "= \r\n", "=  \t\n", "=x\r\n", "=\r",
		"\r\n", "\n", "\r", "  \r\n", "=", "==", "=4", "=4\r\n", "=G1", "=4g", "a=\rb", "\x01", "\x7f", "\xe9", "caf\xc3\xa9",
		"=\r\nx", "= x", "=\t\r\n", "\r\r\n", strings.Repeat("y", 4094), strings.Repeat("w", 4096), strings.Repeat("v", 5000)}
	for i := 0; i < 2500; i++ {
		var b strings.Builder
		for k := rng.Intn(12); k > 0; k-- {
			b.WriteString(pieces[rng.Intn(len(pieces))])
		}
		if rng.Intn(3) == 0 {
			b.WriteString(strings.Repeat("z", rng.Intn(4200)))
			b.WriteString(pieces[rng.Intn(len(pieces))])
		}
		src := []byte(b.String())
		want, wantErr := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(src)))
		limits := []int64{int64(len(want)) + 1, int64(len(want)), int64(len(want)) - 1, int64(rng.Intn(len(want) + 2)), 1 << 20}
		for _, n := range limits {
			if n < 0 {
				continue
			}
			w, werr := io.ReadAll(io.LimitReader(quotedprintable.NewReader(bytes.NewReader(src)), n))
			prefix := []byte("kept")
			g, gerr := qpDecode(prefix, src, n)
			if !bytes.Equal(g[:4], []byte("kept")) || !bytes.Equal(g[4:], w) || fmt.Sprint(gerr) != fmt.Sprint(werr) {
				t.Fatalf("%q, limit %d: %q, %v; quotedprintable %q, %v (all of it: %v)", src, n, g[4:], gerr, w, werr, wantErr)
			}
		}
	}
}
