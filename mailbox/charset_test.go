package mailbox

import (
	"bytes"
	"io"
	"math/rand"
	"mime"
	"testing"

	"github.com/emersion/go-message/charset"
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
