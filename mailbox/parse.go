// Package mailbox imports booking requests from the clinic's IMAP mailbox:
// it connects and syncs incrementally without changing what people see
// (client.go, sync.go, watch.go for background checks and the status
// line), turns each email into a Request with the patient's
// details (parse.go, extract.go), and ranks the patients a request may be
// about (match.go). It never links a request to a patient by itself. Its
// logic works over small interfaces (State, CandidateSource); store.go backs
// them with the clinic store (mailbox imports storage, never the other way
// round), and it never imports the UI.
package mailbox

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	nettextproto "net/textproto"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	message "github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// Source says where a booking request came from.
type Source string

// The sources a request can have.
const (
	SourceWebForm      Source = "web-form"
	SourceScheduling   Source = "scheduling-service"
	SourceCalendar     Source = "calendar-invitation"
	SourcePatientEmail Source = "patient-email"
)

// Request is what Front Desk understood of one booking-request email.
// Fields that could not be found are empty; NeedsReview says a person must
// read BodyText, and Problems says why in plain words.
type Request struct {
	MessageID string
	Subject   string
	From      string // sender address as written in From
	ReplyTo   string // Reply-To address, if any
	Received  time.Time
	Source    Source

	Name, GivenName, FamilyName string
	Email                       string
	Phone                       string // E.164 when the number could be read, else as written
	DateOfBirth                 string // YYYY-MM-DD, only when given

	Requested     time.Time // zero when no date and time could be read
	RequestedText string    // the requested date/time as written
	Message       string    // reason for the visit or the patient's own words
	BodyText      string    // the whole readable text, shown to the receptionist

	NeedsReview bool
	Problems    []string

	// Where Sync found the message: its folder and UID under UIDValidity.
	// ParseRequest leaves them empty.
	Folder      string
	UID         uint32
	UIDValidity uint32
}

// ParseOptions tune ParseRequest. The zero value works.
type ParseOptions struct {
	// DefaultRegion is the ISO 3166 region used for phone numbers written
	// without a country code and for reading 01/02/2006 as month/day ("US",
	// "CA") or day/month (elsewhere). Default "US".
	DefaultRegion string
	// Location is where dates without a time zone are read. Default time.Local.
	Location *time.Location
	// OwnAddresses are the clinic's own addresses; they are never taken as the
	// patient's (e.g. the ORGANIZER of an invitation the clinic sent).
	OwnAddresses []string
	// MaxPartBytes caps how much of each text part is read. Default 256 KiB.
	MaxPartBytes int
}

const (
	defaultMaxPartBytes = 256 << 10
	maxTotalText        = 1 << 20 // all text parts together
	maxMIMEDepth        = 16      // real mail nests 6 or 7 deep (a forward of a forward); each level costs ~10 µs
	maxMIMEParts        = 500
	maxHeaderBytes      = 1 << 20
	maxHeaderValue      = 998 // longest header value kept for display
	maxSkippedPartBytes = 64 << 20
)

// panicHook, when set (by tests), is told about a panic that ParseRequest
// recovered from, so fuzzing still reports bugs.
var panicHook func(v any)

func (o ParseOptions) withDefaults() ParseOptions {
	if o.DefaultRegion == "" {
		o.DefaultRegion = "US"
	}
	o.DefaultRegion = strings.ToUpper(o.DefaultRegion)
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.MaxPartBytes <= 0 {
		o.MaxPartBytes = defaultMaxPartBytes
	}
	return o
}

// ParseRequest reads one raw RFC 5322 message and extracts a booking
// request. It never fails and never panics: whatever it cannot understand
// yields a Request with NeedsReview set and the best text it could read.
func ParseRequest(raw []byte, opts ParseOptions) (req Request) {
	opts = opts.withDefaults()
	defer func() {
		if v := recover(); v != nil {
			if panicHook != nil {
				panicHook(fmt.Sprintf("%v\n%s", v, debug.Stack()))
			}
			req = Request{
				Source:      SourcePatientEmail,
				BodyText:    validText(capBytes(raw, opts.MaxPartBytes)),
				NeedsReview: true,
				Problems:    []string{"The message could not be read automatically; please read it yourself."},
			}
		}
	}()
	p := &parser{opts: opts}
	p.parse(raw)
	req = p.finish() // may use the scratch buffer too (rawText)
	p.release()
	return req
}

// parser holds what has been read of one message so far.
type parser struct {
	opts    ParseOptions
	req     Request
	plain   []string
	html    []string
	cals    []string
	textLen int
	parts   int
	// stopped is set when a part or depth limit is reached: nothing more
	// is read. Moving on to the next part would make every enclosing
	// multipart reader scan the rest of the message for its boundary, once
	// per level (O(depth × size)), for parts that are not read anyway.
	stopped bool
	// embedded is the header of the first attached message/rfc822 (a forward
	// sent "as attachment").
	embedded                *gomail.Header
	senderName, replyToName string
	// raw is the message, once its header could be read (rawBody).
	raw []byte
	// scratch is the buffer text parts are read into (readAll), and the
	// raw body made text in (rawText).
	scratch *[]byte
	// scratchUsed is how much of scratch, from its start, this message
	// may have written to: release clears that much, not the whole
	// buffer (64 KiB once a long part grew it, for a few KB of text).
	scratchUsed int
	// lines is the buffer the text is split into lines in (extract), and
	// linesUsed how many of its strings, from its start, this message
	// wrote: release clears those, not the whole slice.
	lines     *[]string
	linesUsed int
	// qp is what singlePartEntity reads a quoted-printable body through
	// (qpSource), given back by release.
	qp *qpBody
}

// problem notes a problem for the receptionist, once. Most have no
// arguments: their format is the message as it is (Sprintf would give it
// back unchanged when it holds no '%', at the cost of a printer and a
// copy, for each problem of each message).
func (p *parser) problem(format string, args ...any) {
	msg := format
	if len(args) > 0 || strings.IndexByte(format, '%') >= 0 {
		msg = fmt.Sprintf(format, args...)
	}
	for _, existing := range p.req.Problems {
		if existing == msg {
			return
		}
	}
	p.req.Problems = append(p.req.Problems, msg)
}

func (p *parser) parse(raw []byte) {
	var stack [16]partSpan
	var split []partSpan // where readTopMessage may split a multipart
	if walkShortcuts {
		split = stack[:0]
	}
	m, parts := readTopMessage(raw, p, split)
	if m.e == nil && parts == nil && !m.tooDeep {
		p.problem("The message's header could not be read, so the sender and subject are unknown.")
		p.plain = append(p.plain, validText(capBytes(raw, p.opts.MaxPartBytes)))
		p.req.NeedsReview = true
		return
	}
	p.noteEntityError(m.err)
	p.raw = raw
	p.readHeader(&m.top)
	if m.tooDeep {
		// What walk does: it goes down the first parts, notes the
		// decoding error message.New gives the part past the depth
		// limit (multiparts, the parts above it, have none) and stops
		// there.
		p.parts = maxMIMEDepth + 2
		_, err := message.New(message.Header{Header: m.deepest}, strings.NewReader(""))
		p.noteEntityError(err)
		p.tooDeep()
		return
	}
	if parts != nil {
		// What walkEntity does with the message, the first part at
		// depth 0, when multipartParts splits it.
		p.parts++
		p.walkParts(m.body, parts, 1)
		return
	}
	var known []byte // e's undecoded body, for walkEntity's multipartParts
	if m.fast && m.t == nil {
		known = m.body
	}
	p.walkEntity(m.e, 0, m.t, known)
}

// walkShortcuts lets tests turn off the walk's shortcuts
// (nestedTooDeeply) to compare with the plain walk.
var walkShortcuts = true

// topHeaderFields are the only fields of a message's own header that
// ParseRequest reads (readHeader, headerDate, headerMessageID, walk, and
// message.New for the body's encoding); readMessage keeps no others, so
// any other field reads as empty: add it here before reading it. The
// first numTopFields are readHeader's, given to it as topFields; the
// others are the entity's, in its header.
var topHeaderFields = []string{"From", "Reply-To", "Subject", "Date", "Message-Id",
	"Content-Type", "Content-Transfer-Encoding", "Content-Disposition"}

// numTopFields is how many of topHeaderFields are topFields.
const numTopFields = 5

// topFields are the values of the fields readHeader reads (the first
// numTopFields of topHeaderFields, in that order), each as Header.Get
// gives it: the first field's value, "" when there is none. readTopHeader
// hands them over as they are rather than in the entity's header: a
// textproto.Header costs, for each field Added, a field, a slice in its
// map, its key canonicalised twice and its slice of fields grown, and
// again a canonicalisation and a map lookup for each Get: about 4% of
// BenchmarkParseRequest's instructions, for fields only readHeader reads.
type topFields [numTopFields]string

// Indexes of topFields.
const (
	topFrom = iota
	topReplyTo
	topSubject
	topDate
	topMessageID
)

// topFieldsOf gives the topFields of a header go-message read.
func topFieldsOf(h *textproto.Header) (top topFields) {
	for i := range top {
		top[i] = h.Get(topHeaderFields[i])
	}
	return top
}

// topMessage is what readTopMessage read of a message: the entity, what
// walk reads of its header (t) and its raw body when the header was read
// here (fast), the first Content-Type's value when fast (as
// e.Header.Get("Content-Type") gives it), and whether nestedTooDeeply
// found it too deep.
type topMessage struct {
	e           *message.Entity
	t           *entityType
	top         topFields
	body        []byte
	fast        bool
	err         error
	contentType string
	tooDeep     bool             // nestedTooDeeply: e is nil, err nil
	deepest     textproto.Header // nestedTooDeeply's, when tooDeep
}

// readTopMessage is readMessageBody, but when split is not nil (the
// walk's shortcuts are on) it makes no entity for a multipart that
// nestedTooDeeply finds too deep (tooDeep) or that multipartParts splits
// (appending to split, giving parts apart from m, which escapes, so
// that split may be on the caller's stack). walk reads nothing then of
// the entity but its Content-Type (walkEntity), and message.New sets no
// error for a multipart, so none is made: its header
// (entityFields.header, a map and a slice for each field) and
// message.New's parsing of the Content-Type (mime.ParseMediaType's map
// of parameters) cost about 6,000 instructions a message.
func readTopMessage(raw []byte, p *parser, split []partSpan) (m topMessage, parts []partSpan) {
	top, ent, body, ok := readTopFields(raw, nil)
	if !ok {
		if _, _, _, refused := scanHeaderRefusing(raw, func([]byte, int, int) {}); refused {
			// What message.ReadWithOptions gives but for its error's
			// text, which parse does not read, without its 4 KiB
			// bufio.Reader and the fields read up to the refused line:
			// nearly all the memory parsing a short message that is
			// not an email took (5.2 KB of 5.5).
			return topMessage{top: top, err: errHeaderRefused}, nil
		}
		e, err := message.ReadWithOptions(bytes.NewReader(raw), &message.ReadOptions{MaxHeaderBytes: maxHeaderBytes})
		if e != nil {
			top = topFieldsOf(&e.Header.Header)
		}
		return topMessage{e: e, top: top, err: err}, nil
	}
	m = topMessage{top: top, body: body, fast: true, contentType: ent.vals[entityContentType]}
	if e, t, ok := singlePartEntity(&ent, body, p); ok {
		m.e, m.t = e, t
		return m, nil
	}
	if split != nil {
		// Before multipartParts, which would scan the whole of a
		// message nesting parts too deeply.
		if deepest, ok := nestedTooDeeply(m.contentType, body); ok {
			m.tooDeep, m.deepest = true, deepest
			return m, nil
		}
		if parts, ok := multipartParts(m.contentType, body, split); ok {
			return m, parts
		}
	}
	h, ok := ent.header()
	if !ok {
		h, _, _, _ = readTopHeader(raw) // a field repeated: all of them, in order
	}
	m.e, m.err = message.New(message.Header{Header: h}, bytes.NewReader(body))
	return m, nil
}

// errHeaderRefused is readMessageBody's error for a header go-message
// would not read (parse only notes that e is nil).
var errHeaderRefused = errors.New("mailbox: the message's header is malformed")

// entityType is what walk reads of an entity's header: its media type and
// charset (partType) and whether its disposition is attachment.
type entityType struct {
	mediaType, charset string
	attachment         bool
}

// singlePartEntity is message.New(header, bytes.NewReader(body)) for a
// message that is not a multipart, whose header's fields (ent) are the
// usual ones: a Content-Type that simpleContentType reads, or none; a
// known transfer encoding; a charset the CharsetReader knows. Its entity
// has an empty header, and t is what walk would read from the header
// (partType, ContentDisposition). For most messages the entity's header
// was the only textproto.Header made, and making one costs a map and its
// first group, a field and a slice per field, and a canonicalised key per
// Add and Get, about 5% of all the parsing time; message.New also parsed
// the Content-Type into a map (mime.ParseMediaType).
//
// The body is decoded as message.New decodes it: encodingReader for the
// transfer encoding, then, for a text/ type with a charset parameter,
// charsetReader (nothing for utf-8 or us-ascii, in any case, else
// message.CharsetReader with the charset in lower case). ok is false for
// anything else, and for the errors message.New would return (an unknown
// encoding or charset): message.New then reads it.
// TestSinglePartEntityMatchesGoMessage compares the two.
func singlePartEntity(ent *entityFields, body []byte, p *parser) (e *message.Entity, t *entityType, ok bool) {
	var mediaType, charset string // as message.New reads them: mediaType, mediaParams["charset"]
	if v := ent.vals[entityContentType]; v != "" {
		if mediaType, charset, ok = simpleContentType(v); !ok || strings.HasPrefix(mediaType, "multipart/") {
			return nil, nil, false
		}
	}
	var r io.Reader
	switch strings.ToLower(ent.vals[entityEncoding]) {
	case "quoted-printable":
		r = &qpText{r: quotedprintable.NewReader(p.qpSource(body)), src: body}
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, &whitespaceToNewline{bytes.NewReader(body)})
	case "7bit", "8bit", "binary", "":
		r = bytes.NewReader(body)
	default:
		return nil, nil, false
	}
	if strings.HasPrefix(mediaType, "text/") && charset != "" {
		if cs := strings.ToLower(charset); cs != "utf-8" && cs != "us-ascii" {
			if message.CharsetReader == nil {
				return nil, nil, false
			}
			cr, err := message.CharsetReader(cs, r)
			if err != nil {
				return nil, nil, false
			}
			r = cr
		}
	}
	t = &entityType{mediaType: mediaType, charset: charset}
	if mediaType == "" {
		t.mediaType = "text/plain" // partType, for a message without a Content-Type
	}
	if v := ent.vals[entityDisposition]; v != "" {
		// ContentDisposition: the value itself when ParseMediaType fails.
		disposition, _, err := mime.ParseMediaType(v)
		if err != nil {
			disposition = v
		}
		t.attachment = strings.EqualFold(disposition, "attachment")
	}
	return &message.Entity{Body: r}, t, true
}

// qpBody is a body read through a bufio.Reader of the size
// quotedprintable.NewReader makes (bufio.NewReader), which it then uses
// as it is rather than wrapping it in a new one: 4 KiB per
// quoted-printable message, the most common encoding of text mail, and
// a fifth of all the memory parsing allocated. The bytes read are the
// same.
type qpBody struct {
	body bytes.Reader
	br   *bufio.Reader
}

// qpBufferSize is bufio's default size, which bufio.NewReader asks for.
const qpBufferSize = 4096

var qpBodyPool = sync.Pool{New: func() any { return &qpBody{br: bufio.NewReaderSize(nil, qpBufferSize)} }}

// qpZeros clear a pooled qpBody's buffer (release).
var qpZeros [qpBufferSize]byte

// qpSource is body, for quotedprintable.NewReader, in the parser's qpBody
// (a bytes.Reader when p is nil).
func (p *parser) qpSource(body []byte) io.Reader {
	if p == nil {
		return bytes.NewReader(body)
	}
	if p.qp == nil {
		p.qp = qpBodyPool.Get().(*qpBody)
	}
	p.qp.body.Reset(body)
	p.qp.br.Reset(&p.qp.body)
	return p.qp.br
}

// releaseQP gives the parser's qpBody back to the pool, its buffer all
// zeros, as the scratch buffer: bufio fills its buffer from the front
// and never further than the bytes it has read, so the first of those
// (at most the buffer) are overwritten with zeros, read through the
// same buffer.
func (p *parser) releaseQP() {
	if p.qp == nil {
		return
	}
	read := min(int(p.qp.body.Size())-p.qp.body.Len(), qpBufferSize)
	p.qp.body.Reset(qpZeros[:read])
	p.qp.br.Reset(&p.qp.body)
	if _, err := p.qp.br.Peek(read); err == nil {
		p.qp.body.Reset(nil)
		p.qp.br.Reset(nil)
		qpBodyPool.Put(p.qp)
	}
	p.qp = nil
}

// qpText is a quoted-printable body, src, read through r, a
// quotedprintable.Reader of it: readAll, the first to read it, decodes src
// at once instead (qpDecode). quotedprintable.Reader hands on its bytes
// one at a time, a twentieth of all the parsing time.
type qpText struct {
	r       io.Reader
	src     []byte
	started bool // some of it has been read
}

func (q *qpText) Read(p []byte) (int, error) {
	q.started = true
	return q.r.Read(p)
}

// qpDecode appends to dst what io.ReadAll(io.LimitReader(r, n)) gives,
// for r quotedprintable.NewReader(bytes.NewReader(src)), with its error:
// it reads src in the reader's lines (bufio's ReadSlice of a 4 KiB
// buffer: a line with no LF within 4 KiB is cut there, with
// bufio.ErrBufferFull, which ends the reading), trims and ends them as
// it does, and decodes them byte for byte as it does, runs of bytes that
// stand for themselves at once. TestQPDecodeMatchesReader compares them.
func qpDecode(dst, src []byte, n int64) ([]byte, error) {
	limit := int64(len(dst)) + n
	var rerr error
	for pos := 0; ; {
		if int64(len(dst)) >= limit {
			return dst, nil // io.LimitReader reads no further
		}
		if rerr != nil {
			return dst, okEOF(rerr)
		}
		// The next line, as ReadSlice gives it.
		rest := src[pos:]
		var whole []byte
		if i := bytes.IndexByte(rest[:min(len(rest), qpBufferSize)], '\n'); i >= 0 {
			whole = rest[:i+1]
		} else if len(rest) >= qpBufferSize {
			whole, rerr = rest[:qpBufferSize], bufio.ErrBufferFull
		} else {
			whole, rerr = rest, io.EOF
		}
		pos += len(whole)
		hasLF := bytes.HasSuffix(whole, []byte("\n"))
		hasCR := bytes.HasSuffix(whole, []byte("\r\n"))
		line := bytes.TrimRight(whole, "\n\r \t")
		tail := ""
		if bytes.HasSuffix(line, []byte("=")) {
			rightStripped := bytes.TrimLeft(whole[len(line):], " \t")
			line = line[:len(line)-1]
			if !bytes.HasPrefix(rightStripped, []byte("\n")) && !bytes.HasPrefix(rightStripped, []byte("\r\n")) &&
				!(len(rightStripped) == 0 && len(line) > 0 && rerr == io.EOF) {
				rerr = fmt.Errorf("quotedprintable: invalid bytes after =: %q", rightStripped)
			}
		} else if hasCR {
			tail = "\r\n"
		} else if hasLF {
			tail = "\n"
		}
		// The line's bytes, then its tail.
		for i := 0; i < len(line); {
			if int64(len(dst)) >= limit {
				return dst, nil
			}
			// A run of bytes that stand for themselves.
			j := i
			for j < len(line) && int64(len(dst)+j-i) < limit && qpLiteral[line[j]] {
				j++
			}
			if j > i {
				dst = append(dst, line[i:j]...)
				i = j
				continue
			}
			c := line[i]
			if c != '=' {
				return dst, fmt.Errorf("quotedprintable: invalid unescaped byte 0x%02x in body", c)
			}
			// "=" and two hex digits; the line's tail may follow the "=".
			var v [2]byte
			nv := copy(v[:], line[i+1:])
			nv += copy(v[nv:], tail)
			hi, hok := unhex(v[0])
			lo, lok := unhex(v[1])
			switch {
			case nv == 2 && hok && lok:
				dst = append(dst, hi<<4|lo)
				i += 3
			case i+1 < len(line) && line[i+1] != '\r': // not followed by a line end: a literal '='
				dst = append(dst, '=')
				i++
			case nv < 2:
				return dst, io.ErrUnexpectedEOF
			case !hok:
				return dst, fmt.Errorf("quotedprintable: invalid hex byte 0x%02x", v[0])
			default:
				return dst, fmt.Errorf("quotedprintable: invalid hex byte 0x%02x", v[1])
			}
		}
		for i := 0; i < len(tail); i++ {
			if int64(len(dst)) >= limit {
				return dst, nil
			}
			dst = append(dst, tail[i])
		}
	}
}

// okEOF is err, nil for io.EOF (io.ReadAll's end).
func okEOF(err error) error {
	if err == io.EOF {
		return nil
	}
	return err
}

// qpLiteral tells the bytes quotedprintable.Reader hands on as they are:
// tab, CR, LF, printable ASCII but '=', and all bytes from 0x80.
var qpLiteral = func() (t [256]bool) {
	for c := range t {
		t[c] = c == '\t' || c == '\r' || c == '\n' || c >= ' ' && c <= '~' && c != '=' || c >= 0x80
	}
	return t
}()

// unhex is quotedprintable's fromHex, lower case letters too.
func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// whitespaceToNewline is go-message's whitespaceReplacingReader, which
// message.New reads base64 through: spaces and tabs become newlines, which
// the base64 decoder skips.
type whitespaceToNewline struct{ r io.Reader }

func (w *whitespaceToNewline) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	for i := 0; i < n; i++ {
		if p[i] == ' ' || p[i] == '\t' {
			p[i] = '\n'
		}
	}
	return n, err
}

// readTopHeader reads the header of raw for readMessage: the wanted fields
// and the body after the header. ok is false when go-message must read it.
//
// The values of topFields are given as they are (top); the other fields
// are added with Header.Add under their canonical keys
// (topHeaderKeys), each value as Header.Get gives it after AddRaw
// (fieldValue), all values sharing one string: AddRaw makes a key
// string, a copy with CRLF line ends (crlfLines) and a value string per
// field, and canonicalises the key twice, a twelfth of all the parsing
// time. Only the raw bytes of a field (Header.Raw) differ, and nothing
// reads them: what go-message and ParseRequest read of this header is its
// values (Get, Values, ContentType, ...).
func readTopHeader(raw []byte) (h textproto.Header, top topFields, body []byte, ok bool) {
	top, _, body, ok = readTopFields(raw, &h)
	return h, top, body, ok
}

// numEntityFields is how many of topHeaderFields, after the topFields,
// are the entity's own: Content-Type, Content-Transfer-Encoding,
// Content-Disposition.
const numEntityFields = 3

// Indexes of entityFields.vals.
const (
	entityContentType = iota
	entityEncoding
	entityDisposition
)

// entityFields are the fields of the message's own header that the
// entity's header holds: the first value of each ("" when none), how many
// there are of each, and where the first one is among the wanted fields.
type entityFields struct {
	vals  [numEntityFields]string
	count [numEntityFields]int
	pos   [numEntityFields]int
}

// header is the entity's header as readTopHeader makes it, when no field
// of it is repeated (ok): the fields added last first.
func (ent *entityFields) header() (h textproto.Header, ok bool) {
	var order [numEntityFields]int // the fields there are, by where they are, last first
	n := 0
	for k := range ent.vals {
		switch ent.count[k] {
		case 0:
			continue
		case 1:
		default:
			return h, false
		}
		i := n
		for ; i > 0 && ent.pos[order[i-1]] < ent.pos[k]; i-- {
			order[i] = order[i-1]
		}
		order[i] = k
		n++
	}
	for _, k := range order[:n] {
		h.Add(topHeaderKeys[numTopFields+k], ent.vals[k])
	}
	return h, true
}

// readTopFields is readTopHeader, adding the entity's fields to h only
// when h is not nil; ent has them either way.
func readTopFields(raw []byte, h *textproto.Header) (top topFields, ent entityFields, body []byte, ok bool) {
	type span struct{ key, start, end int } // a wanted field: its key (in topHeaderFields) and where it is in raw
	var spans [16]span
	kept := spans[:0]
	size := 0
	end, _, ok := scanHeader(raw, func(key []byte, start, end int) {
		for k, f := range topHeaderFields {
			if len(key) == len(f) && strings.EqualFold(string(key), f) {
				kept = append(kept, span{k, start, end})
				size += end - start
				return
			}
		}
	})
	if !ok {
		return top, ent, nil, false
	}
	if len(kept) == 0 {
		return top, ent, raw[end:], true
	}
	// The values, one after the other in one string; ends[i] is where
	// that of kept[i] ends.
	var endsBuf [16]int
	ends := endsBuf[:0]
	var vals string
	if size <= 2048 {
		var buf [2048]byte
		b := buf[:0]
		for _, f := range kept {
			b = fieldValue(b, raw[f.start:f.end])
			ends = append(ends, len(b))
		}
		vals = string(b)
	} else {
		// A long header (a 10 KB subject) is written once, into the string.
		var b strings.Builder
		b.Grow(size)
		for _, f := range kept {
			_, v, _ := bytes.Cut(raw[f.start:f.end], []byte(":"))
			start := b.Len()
			for len(v) > 0 {
				var line []byte
				if line, v = nextFieldLine(v); len(line) > 0 {
					if b.Len() > start {
						b.WriteByte(' ')
					}
					b.Write(line)
				}
			}
			ends = append(ends, b.Len())
		}
		vals = b.String()
	}
	for k := len(kept) - 1; k >= 0; k-- {
		start := 0
		if k > 0 {
			start = ends[k-1]
		}
		v := vals[start:ends[k]]
		if key := kept[k].key; key >= numTopFields {
			if h != nil {
				h.Add(topHeaderKeys[key], v)
			}
			e := key - numTopFields
			ent.vals[e], ent.pos[e] = v, k // the first such field's, written last
			ent.count[e]++
		} else {
			top[key] = v // the first such field's, written last
		}
	}
	return top, ent, raw[end:], true
}

// topHeaderKeys are topHeaderFields as textproto.CanonicalMIMEHeaderKey
// writes them, the keys AddRaw files the fields under.
var topHeaderKeys = func() []string {
	keys := make([]string, len(topHeaderFields))
	for i, f := range topHeaderFields {
		keys[i] = nettextproto.CanonicalMIMEHeaderKey(f)
	}
	return keys
}()

// scanHeader finds the fields of the header at the start of raw as
// textproto.ReadHeader finds them (see readMessage) and calls field with
// each one's key and where its lines start and end in raw. body is where
// the body starts, and blank says whether a blank line ended the header
// (not the end of raw). ok is false when ReadHeader would refuse the
// header, or it nears go-message's size limit.
func scanHeader(raw []byte, field func(key []byte, start, end int)) (body int, blank, ok bool) {
	body, blank, ok, _ = scanHeaderRefusing(raw, field)
	return body, blank, ok
}

// scanHeaderRefusing is scanHeader also saying, when ok is false, whether
// ReadHeader refuses the header for certain (refused): a line it would
// refuse comes before go-message's size limit is near. (A line
// textproto.ReadHeader refuses is refused whatever follows it, and
// scanHeader stops at the first one, before which both read the same
// fields.)
func scanHeaderRefusing(raw []byte, field func(key []byte, start, end int)) (body int, blank, ok, refused bool) {
	if len(raw) > 0 && (raw[0] == ' ' || raw[0] == '\t') {
		return 0, false, false, true // ReadHeader's "malformed initial line"
	}
	i := 0
	for i < len(raw) {
		line, next := headerLine(raw, i)
		if len(line) == 0 {
			return next, true, true, false // the blank line ending the header
		}
		start := i
		i = next
		for i < len(raw) && (raw[i] == ' ' || raw[i] == '\t') {
			_, i = headerLine(raw, i)
		}
		if i > maxHeaderBytes/2 {
			return 0, false, false, false // go-message's size limit is near
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			// No colon on the field's first line: ReadHeader refuses
			// it too, as a line without one or, finding the colon on
			// a continuation line, as a key with a CR or LF in it.
			return 0, false, false, true
		}
		key := bytes.Trim(line[:colon], " \t")
		for _, c := range key {
			if c < 33 || c > 126 {
				return 0, false, false, true // ReadHeader's "malformed MIME header key"
			}
		}
		field(key, start, i)
	}
	return i, false, true, false
}

// headerLine returns the line of raw starting at i without its LF or CRLF
// (as bufio.Reader.ReadLine gives it) and where the next line starts.
func headerLine(raw []byte, i int) (line []byte, next int) {
	j := bytes.IndexByte(raw[i:], '\n')
	if j < 0 {
		return raw[i:], len(raw)
	}
	line = raw[i : i+j]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, i + j + 1
}

// readHeader reads the message's own header, given as its topFields; what
// it reads of each is what the methods of a gomail.Header holding them
// give (Subject, AddressList, Date, MessageID), TestReadHeaderMatchesGoMessage
// checks that.
func (p *parser) readHeader(top *topFields) {
	r := &p.req
	r.MessageID = messageIDOf(top[topMessageID])
	if s, err := subjectOf(top[topSubject]); err == nil {
		r.Subject = capString(validString(s), maxHeaderValue)
	} else {
		r.Subject = capString(validString(top[topSubject]), maxHeaderValue)
		if message.IsUnknownCharset(err) {
			p.problem("The subject uses an unknown character set; some letters may show wrongly.")
		}
	}
	var fromName, replyToName string
	r.From, fromName = firstAddressAndName(top[topFrom])
	r.ReplyTo, replyToName = firstAddressAndName(top[topReplyTo])
	p.senderName = cleanName(validString(fromName))
	p.replyToName = cleanName(validString(replyToName))
	if r.From == "" && top[topFrom] != "" {
		p.problem("The sender address could not be read.")
	}
	if t, err := dateOf(top[topDate]); err == nil {
		r.Received = t
	}
}

// oneFieldHeader is a header holding only key: v, for the methods of
// gomail.Header that readHeader's shortcuts leave the odd values to.
func oneFieldHeader(key, v string) *gomail.Header {
	h := new(gomail.Header)
	h.Add(key, v)
	return h
}

// subjectOf is Header.Subject() for a Subject of value v: v itself when it
// holds no encoded word (mime.WordDecoder.DecodeHeader gives such a value
// back as it is, without error). Subject() is go-message's decodeHeader of
// the value, DecodeHeader with go-message's charsetReader: that is done
// here, without a header made (a map, a field, a canonicalised key for
// Add and for Get) to hold the value, the half of decoding a subject of
// one encoded word. A value it cannot decode is left to Subject(), whose
// error readHeader looks at. TestSubjectOfMatchesGoMessage compares them.
func subjectOf(v string) (string, error) {
	if !strings.Contains(v, "=?") {
		return v, nil
	}
	dec := mime.WordDecoder{CharsetReader: goMessageCharsetReader}
	if s, err := dec.DecodeHeader(v); err == nil {
		return s, nil
	}
	return oneFieldHeader("Subject", v).Subject()
}

// goMessageCharsetReader is go-message's charsetReader, which its
// decodeHeader gives mime.WordDecoder, for decodings that succeed: the
// error of one that fails is not go-message's (UnknownCharsetError).
func goMessageCharsetReader(charset string, input io.Reader) (io.Reader, error) {
	charset = strings.ToLower(charset)
	if charset == "utf-8" || charset == "us-ascii" {
		return input, nil
	}
	if message.CharsetReader == nil {
		return input, fmt.Errorf("message: unhandled charset %q", charset)
	}
	return message.CharsetReader(charset, input)
}

// headerDate is h.Date() (net/mail.ParseDate), sooner for the usual
// forms: ParseDate tries a dozen layouts in turn, each failure costing an
// error value, before the one every mailer uses (see dateOf);
// TestHeaderDateShortcut checks that.
func headerDate(h *gomail.Header) (time.Time, error) {
	return dateOf(h.Get("Date"))
}

// dateOf is headerDate for a Date of value v. h.Date() is ParseDate(v),
// or the zero time when v is empty; usualDate reads the usual forms.
func dateOf(v string) (time.Time, error) {
	if t, ok := usualDate(v); ok {
		return t, nil
	}
	if v == "" {
		return time.Time{}, nil
	}
	return mail.ParseDate(v)
}

// usualDate reads a Date in the forms nearly all mail uses, giving the
// time mail.ParseDate gives (the same instant, in the same Location):
// "Mon, 2 Jan 2006 15:04:05 -0700", the weekday optional, the day of one
// or two digits, the seconds optional, and after the zone only spaces and
// tabs around at most one plain comment ("(UTC)"). time.Parse, which
// ParseDate calls (after trying layouts that fail, each failure an error
// value), walks its layout chunk by chunk; that was a quarter of reading
// the header. ok is false for anything else (names in another case,
// two-digit years, obsolete zones, folded values, ...), and for values
// time.Parse would refuse (a day past the month's end, hour 24, ...):
// dateOf leaves those to the usual path. TestUsualDateMatchesParseDate
// compares the two.
func usualDate(v string) (t time.Time, ok bool) {
	s := strings.TrimLeft(v, " \t") // ParseDate's skipSpace
	if len(s) >= 5 && s[3] == ',' && s[4] == ' ' {
		if !isShortName(s[:3], shortDayNames) {
			return time.Time{}, false
		}
		s = s[5:]
	}
	// D[D] Mmm YYYY HH:MM[:SS] ±HHMM
	day, s, ok := digits(s, 1, 2)
	if !ok || len(s) < 5 || s[0] != ' ' || s[4] != ' ' {
		return time.Time{}, false
	}
	month := shortMonth(s[1:4])
	if month == 0 {
		return time.Time{}, false
	}
	year, s, ok := digits(s[5:], 4, 4)
	if !ok || len(s) < 6 || s[0] != ' ' || s[3] != ':' {
		return time.Time{}, false
	}
	hour, _, ok1 := digits(s[1:3], 2, 2)
	min, s, ok2 := digits(s[4:], 2, 2)
	if !ok1 || !ok2 || hour > 23 || min > 59 {
		return time.Time{}, false
	}
	sec := 0
	if len(s) > 0 && s[0] == ':' {
		if sec, s, ok = digits(s[1:], 2, 2); !ok || sec > 59 {
			return time.Time{}, false
		}
	}
	if len(s) < 6 || s[0] != ' ' || s[1] != '+' && s[1] != '-' {
		return time.Time{}, false
	}
	zh, _, ok1 := digits(s[2:4], 2, 2)
	zm, _, ok2 := digits(s[4:6], 2, 2)
	if !ok1 || !ok2 || zh > 23 || zm > 59 || !isPlainComment(s[6:]) {
		return time.Time{}, false
	}
	if day < 1 || day > daysIn(month, year) {
		return time.Time{}, false
	}
	offset := (zh*60 + zm) * 60
	if s[1] == '-' {
		offset = -offset
	}
	// What time.Parse does with a numeric zone: the local zone when it
	// has that offset at that instant, else an unnamed fixed zone.
	t = time.Date(year, month, day, hour, min, sec, 0, time.UTC).Add(time.Duration(-offset) * time.Second)
	if _, off := t.In(time.Local).Zone(); off == offset {
		return t.In(time.Local), true
	}
	return t.In(time.FixedZone("", offset)), true
}

// shortDayNames and shortMonthNames are the names time.Parse reads for
// "Mon" and "Jan", as they are usually written (time.Parse also takes
// them in other cases; usualDate leaves those to it).
var (
	shortDayNames   = [...]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
	shortMonthNames = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
)

func isShortName(s string, names [7]string) bool {
	for _, n := range names {
		if s == n {
			return true
		}
	}
	return false
}

// shortMonth is the month named s, 0 for none.
func shortMonth(s string) time.Month {
	for i, n := range shortMonthNames {
		if s == n {
			return time.Month(i + 1)
		}
	}
	return 0
}

// digits reads the decimal number of min to max ASCII digits at the
// start of s, and what follows it.
func digits(s string, min, max int) (n int, rest string, ok bool) {
	i := 0
	for i < len(s) && i < max && '0' <= s[i] && s[i] <= '9' {
		n = n*10 + int(s[i]-'0')
		i++
	}
	return n, s[i:], i >= min
}

// isPlainComment reports s (what follows a Date's zone) to be only spaces
// and tabs around at most one comment of printable ASCII without
// parentheses or backslashes: what ParseDate's skipCFWS skips, without
// nesting or escapes.
func isPlainComment(s string) bool {
	s = strings.Trim(s, " \t")
	if s == "" {
		return true
	}
	if len(s) < 2 || s[0] != '(' || s[len(s)-1] != ')' {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; c < ' ' && c != '\t' || c > '~' || c == '(' || c == ')' || c == '\\' {
			return false
		}
	}
	return true
}

// daysIn is the number of days in month of year (time.Parse's check of
// the day of the month).
func daysIn(month time.Month, year int) int {
	if month == time.February {
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	}
	return 31 - int(month-1)%7%2
}

// headerMessageID returns the Message-ID without angle brackets.
func headerMessageID(h *gomail.Header) string {
	if id, err := h.MessageID(); err == nil && id != "" {
		return capString(id, maxHeaderValue)
	}
	v := strings.TrimSpace(h.Get("Message-Id"))
	v = strings.TrimSuffix(strings.TrimPrefix(v, "<"), ">")
	return capString(validString(v), maxHeaderValue)
}

// messageIDOf is headerMessageID for a Message-ID of value v. The usual
// value, "<left@right>" with both sides ASCII atext and dots and nothing
// around it, is read here as h.MessageID() reads it (left + "@" + right,
// that is what is between the brackets); others are left to it.
func messageIDOf(v string) string {
	if len(v) >= 5 && v[0] == '<' && v[len(v)-1] == '>' {
		id := v[1 : len(v)-1]
		if left, right, ok := strings.Cut(id, "@"); ok && isMsgIDAtoms(left) && isMsgIDAtoms(right) {
			return capString(id, maxHeaderValue)
		}
	}
	return headerMessageID(oneFieldHeader("Message-Id", v))
}

// isMsgIDAtoms reports a non-empty run of what go-message's parseMsgID
// reads on either side of the '@' (parseAtomText with dots), for ASCII:
// a visible character other than ()[];@\,<>":.
func isMsgIDAtoms(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < '!' || c > '~' || strings.IndexByte(`()[];@\,<>":`, c) >= 0 {
			return false
		}
	}
	return true
}

// firstAddress returns the first address of an address header, lower-cased,
// falling back to the first email-looking text when the header is malformed.
func firstAddress(h *gomail.Header, key string) string {
	if list, err := h.AddressList(key); err == nil && len(list) > 0 {
		return strings.ToLower(list[0].Address)
	}
	v := h.Get(key)
	if v == "" {
		return ""
	}
	if m := emailPattern.FindString(capString(v, maxHeaderValue)); m != "" {
		return strings.ToLower(m)
	}
	return ""
}

// addressName returns the display name of the first address in key.
func addressName(h *gomail.Header, key string) string {
	if list, err := h.AddressList(key); err == nil && len(list) > 0 {
		return strings.TrimSpace(list[0].Name)
	}
	return ""
}

// firstAddressAndName is firstAddress and addressName for an address
// field of value v, reading it once. h.AddressList(key) is
// ParseAddressList(v), or nothing when v is empty.
func firstAddressAndName(v string) (addr, name string) {
	if name, addr, ok := simpleAddress(v); ok {
		return strings.ToLower(addr), strings.TrimSpace(name)
	}
	var list []*gomail.Address
	var err error
	if v != "" {
		list, err = gomail.ParseAddressList(v)
	}
	if err == nil && len(list) > 0 {
		return strings.ToLower(list[0].Address), strings.TrimSpace(list[0].Name)
	}
	if v == "" {
		return "", ""
	}
	if m := emailPattern.FindString(capString(v, maxHeaderValue)); m != "" {
		return strings.ToLower(m), ""
	}
	return "", ""
}

// simpleAddress reads an address header holding one address in one of
// the forms nearly all mail uses, as net/mail (h.AddressList) reads it:
// "ann@example.com", "Ann Lee <ann@example.com>", "\"Lee, Ann\"
// <ann@example.com>", "Lucía <lucia@example.es>",
// "=?utf-8?b?THVjw61h?= <lucia@example.es>". net/mail first tries the
// whole value as a bare address, then as a phrase of atoms and quoted
// strings, each word checked for RFC 2047 encoding, building strings rune
// by rune; a tenth of the header's cost, and most of it for names that
// are not ASCII. Only values whose address is ASCII and whose name is
// valid UTF-8 without comments, groups, lists, escapes, domain literals or
// quoted local parts are read here (ok); net/mail reads the rest.
//
// The name's words are joined as consumePhrase joins them: with single
// spaces, except that encoded words next to each other are joined
// without one. An atom that is an encoded word is decoded as net/mail
// decodes it (mime.WordDecoder with message.CharsetReader, which
// go-message's ParseAddressList gives it); one it cannot decode, one that
// decodes to nothing (net/mail then drops it and its space) or another
// atom holding "=?" is left to net/mail. TestSimpleAddressMatchesNetMail
// compares them.
func simpleAddress(v string) (name, addr string, ok bool) {
	s := strings.Trim(v, " \t")
	if s == "" {
		return "", "", false
	}
	if s[len(s)-1] != '>' {
		return "", s, isDotAtomAddress(s)
	}
	lt := strings.LastIndexByte(s, '<')
	if lt < 0 || !isDotAtomAddress(s[lt+1:len(s)-1]) || !utf8.ValidString(s[:lt]) {
		return "", "", false
	}
	// The display name: words (atoms, dots allowed, or quoted strings).
	// Bytes from 0x80 on are parts of valid multi-byte characters, which
	// net/mail takes as atext and qtext. While the name is s[start:end]
	// (inS: its first word, atoms after atoms one space apart) it is not
	// copied; nearly all names are, and then need no string of their own.
	var b strings.Builder
	inS, start, end := true, 0, 0
	words, prevEncoded, prevAtom := 0, false, false
	for i := 0; i < lt; {
		c := s[i]
		var word string
		from, encoded, atom := i, false, false
		switch {
		case c == ' ' || c == '\t':
			i++
			continue
		case c == '"':
			j := i + 1
			for j < lt && s[j] != '"' && s[j] != '\\' && (s[j] >= ' ' || s[j] == '\t') && s[j] != 0x7f {
				j++
			}
			if j >= lt || s[j] != '"' {
				return "", "", false // unclosed, escaped or a control character
			}
			word, i = s[i+1:j], j+1
			if strings.Contains(word, "=?") {
				return "", "", false
			}
		default:
			j := i
			for j < lt && (s[j] >= utf8.RuneSelf || isAtextByte(s[j])) {
				j++
			}
			if j == i {
				return "", "", false // a special: comment, group, list, ...
			}
			word, i, atom = s[i:j], j, true
			if strings.Contains(word, "=?") {
				if !strings.HasPrefix(word, "=?") {
					return "", "", false
				}
				dec := mime.WordDecoder{CharsetReader: message.CharsetReader}
				text, err := dec.Decode(word)
				if err != nil || text == "" {
					return "", "", false
				}
				word, encoded, atom = text, true, false
			}
		}
		if inS {
			switch {
			case words == 0 && !encoded:
				start, end = i-len(word), i
				if !atom {
					end-- // the closing quote
					start--
				}
			case words > 0 && atom && prevAtom && s[end:from] == " ":
				end = i
			default:
				inS = false
				b.WriteString(s[start:end]) // the words so far, as joined
			}
		}
		if !inS {
			if words > 0 && !(prevEncoded && encoded) {
				b.WriteByte(' ')
			}
			b.WriteString(word)
		}
		words++
		prevEncoded, prevAtom = encoded, atom
	}
	if inS {
		return s[start:end], s[lt+1 : len(s)-1], true
	}
	return b.String(), s[lt+1 : len(s)-1], true
}

// isDotAtomAddress reports local@domain, both RFC 5322 dot-atoms (no
// leading, trailing or double dots) of ASCII atext, as net/mail accepts
// an addr-spec without quotes, spaces or a domain literal.
func isDotAtomAddress(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && isDotAtom(local) && isDotAtom(domain)
}

func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAtextByte(s[i]) {
			return false
		}
	}
	return true
}

// isAtextByte is net/mail's isAtext(c, true) for an ASCII byte: a visible
// character other than the specials ()<>[]:;@\,".
func isAtextByte(c byte) bool {
	return c >= '!' && c <= '~' && strings.IndexByte(`()<>[]:;@\,"`, c) < 0
}

func (p *parser) noteEntityError(err error) {
	switch {
	case err == nil:
	case message.IsUnknownCharset(err):
		p.problem("Part of the message uses an unknown character set; some letters may show wrongly.")
	case message.IsUnknownEncoding(err):
		p.problem("Part of the message uses an unknown transfer encoding; it is shown as it arrived.")
	default:
		p.problem("Part of the message is damaged: %s.", plainError(err))
	}
}

// walk visits e and its parts depth first, reading only text parts.
func (p *parser) walk(e *message.Entity, depth int) {
	p.walkEntity(e, depth, nil, nil)
}

// walkEntity is walk, reading what it needs of e's header from t when t
// is not nil (a message of one part, see singlePartEntity). body, when
// not nil, is e's body as it was given to message.New: a multipart's
// parts are then found in it (multipartParts) when they are laid out as
// usual, rather than by go-message's reader.
func (p *parser) walkEntity(e *message.Entity, depth int, t *entityType, body []byte) {
	if p.stopped {
		return
	}
	p.parts++
	if p.parts > maxMIMEParts {
		p.problem("The message has too many parts; only the first %d were read.", maxMIMEParts)
		p.stopped = true
		return
	}
	if depth > maxMIMEDepth {
		p.tooDeep()
		return
	}
	if body != nil && walkShortcuts {
		var stack [16]partSpan
		if parts, ok := multipartParts(e.Header.Get("Content-Type"), body, stack[:0]); ok {
			p.walkParts(body, parts, depth+1)
			return
		}
	}
	if mr := e.MultipartReader(); mr != nil {
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return
			}
			if part == nil {
				if err != nil {
					p.problem("The message's parts are damaged or cut short; what could be read is shown.")
				}
				return
			}
			p.noteEntityError(err)
			p.walk(part, depth+1)
			if p.stopped {
				return
			}
		}
	}
	// Not a multipart: its type is read only now, as a multipart's
	// Content-Type ("multipart/mixed; boundary=...") is one partType
	// leaves to mime.ParseMediaType, which makes a map of its parameters.
	var mediaType, charset string
	if t != nil {
		mediaType, charset = t.mediaType, t.charset
	} else {
		mediaType, charset = partType(&e.Header)
	}
	var attachment bool
	if t != nil {
		attachment = t.attachment
	} else {
		disposition, _, _ := e.Header.ContentDisposition()
		attachment = strings.EqualFold(disposition, "attachment")
	}
	switch {
	case mediaType == "text/calendar" || mediaType == "application/ics":
		if s, ok := p.readText(e, charset); ok {
			p.cals = append(p.cals, s)
		}
	case mediaType == "message/rfc822" || mediaType == "message/global":
		inner, err := message.ReadWithOptions(io.LimitReader(e.Body, maxSkippedPartBytes), &message.ReadOptions{MaxHeaderBytes: maxHeaderBytes})
		if inner == nil {
			p.problem("An attached message could not be read.")
			return
		}
		p.noteEntityError(err)
		if p.embedded == nil {
			h := gomail.Header{Header: inner.Header.Copy()}
			p.embedded = &h
		}
		p.walk(inner, depth+1)
	case attachment:
		// Attachments (including text files) are not read.
	case mediaType == "text/html":
		if s, ok := p.readText(e, charset); ok {
			p.html = append(p.html, s)
		}
	case mediaType == "text/plain" || mediaType == "text/enriched" || mediaType == "" || strings.HasPrefix(mediaType, "text/"):
		if s, ok := p.readText(e, charset); ok {
			p.plain = append(p.plain, s)
		}
	default:
		// Images, PDFs and the like: the multipart reader discards their
		// bytes as it moves on, without keeping them.
	}
}

// partSpan is where a part of a multipart is in the multipart's body:
// its header (with the blank line ending it) from start to data, its
// data (the part's body) from data to end.
type partSpan struct{ start, data, end int }

// walkParts walks the parts of a multipart of body body at depth, as
// walkEntity walks those NextPart gives: the entity go-message makes for
// a part, message.New(part header, part data), is made here from the
// fields of the part's header as readMessageBody makes a message's
// (singlePartEntity, or message.New with the header of the fields walk
// and message.New read), and its decoding error noted before it is
// walked.
func (p *parser) walkParts(body []byte, parts []partSpan, depth int) {
	for _, part := range parts {
		header, data := body[part.start:part.data], body[part.data:part.end]
		_, ent, _, _ := readTopFields(header, nil) // read before by multipartParts: ok
		if e, t, ok := singlePartEntity(&ent, data, nil); ok {
			p.walkEntity(e, depth, t, nil)
		} else {
			h, ok := ent.header()
			if !ok {
				h, _, _, _ = readTopHeader(header) // a field repeated: all of them, in order
			}
			e, err := message.New(message.Header{Header: h}, bytes.NewReader(data))
			p.noteEntityError(err)
			p.walkEntity(e, depth, nil, data)
		}
		if p.stopped {
			return
		}
	}
}

// multipartParts finds the parts of a multipart of Content-Type
// contentType and undecoded body body, appending them to parts, as
// go-message reads them (Entity.MultipartReader, textproto.NextPart and
// partReader) when they are laid out as usual: ok is false for anything
// else, and go-message reads the multipart. Making a multipart reader
// costs a 4 KiB bufio.Reader, reading each part's header a
// textproto.Header of every field, and message.New parses its
// Content-Type into a map: about a tenth of all the parsing time, for
// the two or three parts of most mail, whose bytes are all in memory.
//
// As go-message reads them: the boundary is Content-Type's parameter
// (simpleMultipartBoundary; not one RFC 2047-encoded, which go-message
// would decode). Lines of preamble are skipped up to the first delimiter
// line, "--" and the boundary, spaces or tabs, and the line end, which
// says whether the line ends of the delimiters are CRLF or LF (nl). Each
// part's header is read up to its blank line (scanHeader, which reads as
// textproto.ReadHeader does); its data ends where the first nl, "--" and
// the boundary follow it, followed by a space, tab, CR, LF or '-'
// (scanUntilBoundary; "--" and the boundary followed by anything else is
// data). The next line is then the nl, and the one after it another
// delimiter line, or the closing one ("--" and the boundary and "--",
// spaces or tabs, then nl or the end of the body), after which nothing
// is read.
//
// Not usual, so left to go-message: a preamble line starting with "--"
// and the boundary that is not a delimiter line, no delimiter line, a
// line of over 1000 bytes where go-message reads lines (bufio's 4 KiB
// limit is near), a header scanHeader leaves to go-message or that the
// body ends in, part data starting with "--" and the boundary (which
// partReader reads apart), a boundary that is missing, over 200 bytes or
// holds "=?", a part not followed by a delimiter line or the closing
// delimiter, and no closing delimiter. TestMultipartPartsMatchGoMessage
// compares the walk with go-message's.
func multipartParts(contentType string, body []byte, parts []partSpan) ([]partSpan, bool) {
	var ctBuf [128]byte
	boundary, ok := simpleMultipartBoundary(append(ctBuf[:0], contentType...))
	if !ok || len(boundary) > 200 || bytes.Contains(boundary, []byte("=?")) {
		return nil, false
	}
	var buf [206]byte
	nlDash := append(append(buf[:0], "\r\n--"...), boundary...) // nl, "--" and the boundary
	dash := nlDash[2:]
	nl := nlDash[:2]
	// The preamble, up to the first delimiter line.
	i := 0
	for {
		line, next, ok := multipartLine(body, i)
		if !ok {
			return nil, false
		}
		i = next
		if rest, ok := bytes.CutPrefix(line, dash); ok {
			rest = bytes.TrimLeft(rest, " \t")
			if string(rest) == "\n" {
				nl, nlDash = nl[1:], nlDash[1:]
			}
			if !bytes.Equal(rest, nl) {
				return nil, false
			}
			break
		}
	}
	for {
		// i is where a part starts, after its delimiter line.
		n, blank, ok := scanHeader(body[i:], func([]byte, int, int) {})
		if !ok || !blank {
			return nil, false
		}
		start, data := i, i+n
		rest := body[data:]
		if bytes.HasPrefix(rest, dash) || bytes.HasPrefix(dash, rest) {
			return nil, false
		}
		end := -1
		for from := 0; end < 0; {
			k := bytes.Index(rest[from:], nlDash)
			if k < 0 {
				return nil, false
			}
			after := from + k + len(nlDash)
			if after == len(rest) {
				return nil, false // the body ends there: no delimiter line
			}
			if c := rest[after]; c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '-' {
				end = from + k
			}
			from = after
		}
		parts = append(parts, partSpan{start, data, data + end})
		line, next, ok := multipartLine(body, data+end+len(nl)) // after the nl, which starts nlDash
		if !ok {
			return nil, false
		}
		after := line[len(dash):]
		if bytes.Equal(bytes.TrimLeft(after, " \t"), nl) {
			i = next // another delimiter line
			continue
		}
		if closing, ok := bytes.CutPrefix(after, []byte("--")); ok {
			if closing = bytes.TrimLeft(closing, " \t"); len(closing) == 0 || bytes.Equal(closing, nl) {
				return parts, true // the closing delimiter (with no LF, the body's end)
			}
		}
		return nil, false
	}
}

// multipartLine is the line of body at i, with its LF, as bufio's
// ReadSlice gives it to NextPart (without one at the end of the body),
// and where the next one starts. ok is false for a line of over 1000
// bytes, and at the end of the body.
func multipartLine(body []byte, i int) (line []byte, next int, ok bool) {
	if i >= len(body) {
		return nil, i, false
	}
	j := bytes.IndexByte(body[i:], '\n')
	if j < 0 {
		j = len(body) - i - 1
	}
	if j >= 1000 {
		return nil, i, false
	}
	return body[i : i+j+1], i + j + 1, true
}

// partType is the media type and charset parameter walk reads from a
// part's Content-Type (h.ContentType(), text/plain when that fails and
// gives none). The usual values ("text/plain; charset=utf-8") are read
// here: go-message's ContentType builds a map of the parameters, and
// message.New has already done so once for the same part.
func partType(h *message.Header) (mediaType, charset string) {
	if mediaType, charset, ok := simpleContentType(h.Get("Content-Type")); ok {
		return mediaType, charset
	}
	mediaType, params, err := h.ContentType()
	if err != nil && mediaType == "" {
		mediaType = "text/plain"
	}
	return mediaType, params["charset"]
}

// simpleContentType reads a Content-Type value of the form
// "type/subtype", optionally followed by "; charset=value" or
// "; charset=\"value\"" (no space or one after the ';'), with a type and
// subtype in lower case, as mime.ParseMediaType reads it. Any other value
// gives ok false. TestPartTypeMatchesContentType compares them.
func simpleContentType(v string) (mediaType, charset string, ok bool) {
	mediaType, params, hasParams := strings.Cut(v, ";")
	slash := strings.IndexByte(mediaType, '/')
	if slash <= 0 || slash == len(mediaType)-1 {
		return "", "", false
	}
	for i := 0; i < len(mediaType); i++ {
		if c := mediaType[i]; i != slash && !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '+') {
			return "", "", false
		}
	}
	if !hasParams {
		return mediaType, "", true
	}
	charset, ok = strings.CutPrefix(strings.TrimPrefix(params, " "), "charset=")
	if len(charset) >= 2 && charset[0] == '"' && charset[len(charset)-1] == '"' {
		charset = charset[1 : len(charset)-1]
	}
	if !ok || charset == "" {
		return "", "", false
	}
	for i := 0; i < len(charset); i++ {
		if c := charset[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return "", "", false
		}
	}
	return mediaType, charset, true
}

// tooDeep notes that walk went past the depth limit: nothing more is read.
func (p *parser) tooDeep() {
	p.problem("The message is nested too deeply; the innermost parts were not read.")
	p.stopped = true
}

// nestedTooDeeply reports whether walk would stop at the depth limit
// before reading any part: whether the message, of Content-Type
// topContentType (its first one's value) and raw body body, nests maxMIMEDepth+1 multiparts, each the first part of the one
// around it. deepest is then the header of the part found below them,
// whose decoding error walk notes before it stops. Messages made to wear
// parsers out look so (hostile-nested.eml: 200 levels), and go-message
// reads each level through the part readers of all the levels around
// it, each scanning the same bytes again for its own boundary, with a
// 4 KiB buffer per level: about half of such a message's parse time, for
// a walk that reads nothing.
//
// Each level is read here as go-message's MultipartReader.NextPart reads
// its first part (textproto): lines of preamble up to the first
// delimiter line ("--" and the boundary, spaces or tabs, CRLF or LF),
// then the part's header up to its blank line, with scanHeader, which
// reads as textproto.ReadHeader does (see readMessage). A part's body
// ends where a delimiter of its multipart starts (partReader: "--" and
// the boundary after a LF, followed by a space, tab, CR, LF, '-' or the
// end of the data), and a part reader holds back the last bytes it has,
// up to the length of "\r\n--" and the boundary, until it knows they are
// not a delimiter. So no level's boundary may start a delimiter in its
// first part's body, up to the end of the deepest header and a margin
// of len(boundary)+5 bytes for each level: then each level's reader
// hands on every byte the next level reads.
//
// Anything else (a preamble line starting with the boundary, a line of
// over 1000 bytes, a header scanHeader leaves to go-message, a part
// above the limit that is not a multipart, a boundary that is missing,
// over 200 bytes or RFC 2047-encoded, too little data after the deepest
// header) gives ok false, and walk reads the message.
// TestNestedTooDeeplyMatchesWalk compares the two.
func nestedTooDeeply(topContentType string, body []byte) (deepest textproto.Header, ok bool) {
	var dashes [maxMIMEDepth + 1]string // "--" and each level's boundary
	var starts [maxMIMEDepth + 1]int    // where the body of each level's first part starts
	// The dashes are made in one buffer and made strings together at the
	// end: a boundary string and a "--" concatenation for each level were
	// 34 of hostile-nested.eml's 68 allocations.
	var dashBuf [512]byte
	allDashes := dashBuf[:0]
	var dashEnds [maxMIMEDepth + 1]int // where each level's dash ends in allDashes
	var buf [128]byte
	contentType := append(buf[:0], topContentType...)
	if !isMultipartType(contentType) || !isMultipartType(firstPartType(contentType[len(contentType):], body)) {
		return textproto.Header{}, false // nearly all messages
	}
	pos, margin := 0, 0
	for d := range dashes {
		if !isMultipartType(contentType) {
			return textproto.Header{}, false
		}
		// The boundary, as message.New and Entity.MultipartReader read it
		// (parseHeaderWithParams also decodes encoded words, "=?").
		boundary, ok := simpleMultipartBoundary(contentType)
		if !ok {
			mediaType, params, err := mime.ParseMediaType(string(contentType))
			boundary = []byte(params["boundary"])
			if err != nil || !strings.HasPrefix(mediaType, "multipart/") {
				return textproto.Header{}, false
			}
		}
		if len(boundary) == 0 || len(boundary) > 200 || bytes.Contains(boundary, []byte("=?")) {
			return textproto.Header{}, false
		}
		// Copied before contentType, which boundary may be in, is reused.
		allDashes = append(append(allDashes, "--"...), boundary...)
		dash := allDashes[len(allDashes)-2-len(boundary):]
		for {
			nl := bytes.IndexByte(body[pos:], '\n')
			if nl < 0 || nl > 1000 {
				return textproto.Header{}, false // no delimiter line, or a line near bufio's size
			}
			line := body[pos : pos+nl+1]
			pos += nl + 1
			if bytes.HasPrefix(line, dash) {
				rest := bytes.TrimLeft(line[len(dash):], " \t")
				if len(rest) == 1 || len(rest) == 2 && rest[0] == '\r' {
					break // the delimiter line
				}
				return textproto.Header{}, false // a closing delimiter, a longer boundary, ...
			}
		}
		// The part's header: only its Content-Type is needed, until the
		// deepest one.
		contentType = contentType[:0]
		found := false
		n, blank, ok := scanHeader(body[pos:], func(key []byte, start, end int) {
			if !found && isContentType(key) {
				contentType, found = fieldValue(contentType, body[pos+start:pos+end]), true
			}
		})
		if !ok || !blank {
			return textproto.Header{}, false
		}
		if d == maxMIMEDepth {
			deepest, _, _, _ = readTopHeader(body[pos:])
		}
		pos += n
		dashEnds[d], starts[d] = len(allDashes), pos
		margin += len(dash) + 5
	}
	end := pos + margin
	if end > len(body) {
		return textproto.Header{}, false
	}
	all, from := string(allDashes), 0
	for d, e := range dashEnds {
		dashes[d], from = all[from:e], e
	}
	if anyDelimiter(body[:end], starts[:], dashes[:]) {
		return textproto.Header{}, false
	}
	return deepest, true
}

// simpleMultipartBoundary reads a Content-Type value of the form
// "multipart/subtype; boundary=value", the value a token or a quoted
// string without backslashes, with nothing after it, the type in lower
// case and no space or one after the ';', as mime.ParseMediaType reads it:
// the boundary parameter of a multipart media type. Any other value gives
// ok false (nestedTooDeeply then asks ParseMediaType, which makes a map of
// the parameters: a tenth of hostile-nested.eml's parse time for its 17
// levels). The boundary is in v. TestSimpleMultipartBoundaryMatchesMime
// compares them.
func simpleMultipartBoundary(v []byte) (boundary []byte, ok bool) {
	rest, ok := bytes.CutPrefix(v, []byte("multipart/"))
	if !ok {
		return nil, false
	}
	semi := bytes.IndexByte(rest, ';')
	if semi <= 0 {
		return nil, false
	}
	for _, c := range rest[:semi] {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '+') {
			return nil, false
		}
	}
	rest = bytes.TrimPrefix(rest[semi+1:], []byte(" "))
	if rest, ok = bytes.CutPrefix(rest, []byte("boundary=")); !ok || len(rest) == 0 {
		return nil, false
	}
	if rest[0] == '"' {
		if len(rest) < 3 || rest[len(rest)-1] != '"' {
			return nil, false
		}
		rest = rest[1 : len(rest)-1]
		for _, c := range rest {
			if c < ' ' || c > '~' || c == '"' || c == '\\' {
				return nil, false
			}
		}
		return rest, true
	}
	for _, c := range rest {
		if !isMIMETokenByte(c) {
			return nil, false
		}
	}
	return rest, true
}

// isMIMETokenByte is mime's isTokenChar: a US-ASCII character other than
// space, controls and the tspecials ()<>@,;:\"/[]?=.
func isMIMETokenByte(c byte) bool {
	return c > ' ' && c < 0x7f && strings.IndexByte(`()<>@,;:\"/[]?=`, c) < 0
}

// firstPartType appends to b a quick guess at the Content-Type of the
// first part of a multipart body: that in the header after its first
// line starting with "--" (the delimiter line, unless a line of the
// preamble starts so). It lets nestedTooDeeply turn away the multiparts
// whose first part is not one (nearly all) before parsing a boundary;
// the levels are then checked as go-message reads them.
func firstPartType(b, body []byte) []byte {
	for pos := 0; pos < len(body); {
		nl := bytes.IndexByte(body[pos:], '\n')
		if nl < 0 {
			break
		}
		line := body[pos : pos+nl]
		pos += nl + 1
		if bytes.HasPrefix(line, []byte("--")) {
			found := false
			scanHeader(body[pos:], func(key []byte, start, end int) {
				if !found && isContentType(key) {
					b, found = fieldValue(b, body[pos+start:pos+end]), true
				}
			})
			break
		}
	}
	return b
}

// isContentType reports a Content-Type header key.
func isContentType(key []byte) bool {
	return len(key) == len("Content-Type") && strings.EqualFold(string(key), "Content-Type")
}

// isMultipartType reports a Content-Type value starting "multipart/".
func isMultipartType(v []byte) bool {
	return len(v) >= 10 && bytes.EqualFold(v[:10], []byte("multipart/"))
}

// fieldValue appends to b a header field's value as textproto.Header.Get
// gives it (trimAroundNewlines): after the colon, each line without the
// CR before its LF and the spaces and tabs around it, the non-empty ones
// joined by spaces (what b held before is not looked at).
func fieldValue(b, field []byte) []byte {
	_, v, _ := bytes.Cut(field, []byte(":"))
	start := len(b)
	for len(v) > 0 {
		var line []byte
		if line, v = nextFieldLine(v); len(line) == 0 {
			continue
		}
		if len(b) > start {
			b = append(b, ' ')
		}
		b = append(b, line...)
	}
	return b
}

// nextFieldLine returns the first line of a field's value v as fieldValue
// joins it (without the CR before its LF, and the spaces and tabs around
// it) and the lines after it.
func nextFieldLine(v []byte) (line, rest []byte) {
	if i := bytes.IndexByte(v, '\n'); i >= 0 {
		line, rest = bytes.TrimSuffix(v[:i], []byte("\r")), v[i+1:]
	} else {
		line = v // a last line without LF keeps a CR at its end, as with AddRaw
	}
	return bytes.Trim(line, " \t"), rest
}

// anyDelimiter reports whether b holds, for some level d, dashes[d]
// from starts[d] where a go-message part reader could take it for a
// delimiter: at the start of a line (after a LF, as the body of a part
// starts after its header's blank line), followed by a space, tab, CR,
// LF, '-' or the end of b. starts is increasing, from 1, and each dash
// starts with "--" (nestedTooDeeply's). It is hasDelimiter for
// every level at once, in one pass over the lines of b: each level
// looking through b for its own dash, from its own start, went through
// the part headers of all the levels below it again, a bytes.Index and
// a stop at nearly every line (every part header line has a '-'), 11%
// of hostile-nested.eml's parse time. TestAnyDelimiterMatchesHasDelimiter
// compares the two.
func anyDelimiter(b []byte, starts []int, dashes []string) bool {
	if len(starts) == 0 {
		return false
	}
	for i := starts[0] - 1; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return false
		}
		k := i + j + 1 // a line start
		i = k
		if k+1 >= len(b) || b[k] != '-' || b[k+1] != '-' {
			continue
		}
		for d, dash := range dashes {
			if starts[d] > k {
				break
			}
			if e := k + len(dash); e <= len(b) && string(b[k:e]) == dash &&
				(e == len(b) || strings.IndexByte(" \t\r\n-", b[e]) >= 0) {
				return true
			}
		}
	}
	return false
}

// readText reads a decoded text part up to the part cap.
func (p *parser) readText(e *message.Entity, charset string) (string, bool) {
	limit := p.opts.MaxPartBytes
	if room := maxTotalText - p.textLen; room < limit {
		limit = room
	}
	if limit <= 0 {
		p.problem("The message has more text than Front Desk reads; the rest was left out.")
		return "", false
	}
	data, err := p.readAll(e.Body, int64(limit)+1)
	if len(data) > limit {
		data = data[:limit]
		p.problem("A very long text part was cut at %d KiB.", limit>>10)
	}
	if err != nil {
		p.problem("Part of the message is damaged: %s; what could be read is shown.", plainError(err))
	}
	valid := utf8.Valid(data)
	if !valid {
		if cs := charset; cs != "" && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "us-ascii") {
			p.problem("Some text is not valid in its character set (%s); unreadable letters are shown as �.", capString(cs, 40))
		} else {
			p.problem("Some text is not valid UTF-8; unreadable letters are shown as �.")
		}
	}
	s := validTextWithoutCR(data, valid)
	p.textLen += len(s)
	return s, true
}

// readAll is io.ReadAll(io.LimitReader(r, n)) into the parser's scratch
// buffer, which the next part reuses: io.ReadAll starts at 512 bytes and
// grows by doubling, half a dozen allocations for a few KB of text that
// is copied into a string right after anyway. The bytes and the error
// are what io.ReadAll gives; only the buffer differs.
//
// Each Read is given at most readWindow bytes of the buffer, so that
// scratchUsed can say where this message's text may end: a Read may use
// all of the slice it is given as scratch space (io.Reader), so without
// a bound release would have to clear the whole buffer.
func (p *parser) readAll(r io.Reader, n int64) ([]byte, error) {
	if p.scratch == nil {
		p.scratch = scratchPool.Get().(*[]byte)
	}
	if q, ok := r.(*qpText); ok && !q.started {
		q.started = true // what it gives is read here
		b, err := qpDecode((*p.scratch)[:0], q.src, n)
		*p.scratch = b
		p.scratchUsed = max(p.scratchUsed, len(b))
		return b, err
	}
	lr := io.LimitedReader{R: r, N: n}
	b := (*p.scratch)[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		end := min(cap(b), len(b)+readWindow)
		p.scratchUsed = max(p.scratchUsed, end)
		m, err := lr.Read(b[len(b):end])
		b = b[:len(b)+m]
		if err != nil {
			*p.scratch = b
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
	}
}

// scratchPool holds read buffers for text parts across messages; a
// buffer grown past maxPooledScratch by a huge part is not kept.
var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

const maxPooledScratch = 64 << 10

// readWindow is the most of the scratch buffer one Read in readAll is
// given: the buffer of go-message's part readers (bufio, 4 KiB), so a
// part that is not quoted-printable takes no more Reads than with the
// whole buffer (each hands on at most what that buffer holds).
const readWindow = 4 << 10

// release gives the parser's scratch buffer back; nothing that ParseRequest
// returns points into it (its text is copied into strings).
func (p *parser) release() {
	if p.scratch != nil && cap(*p.scratch) <= maxPooledScratch {
		// No message text waits in the pool: the buffer is all zeros
		// when pooled, and this message wrote no further than
		// scratchUsed (appending to a full buffer copies it into a new
		// one whose tail is zeroed).
		clear((*p.scratch)[:p.scratchUsed])
		*p.scratch = (*p.scratch)[:0]
		scratchPool.Put(p.scratch)
	}
	p.scratch = nil
	if p.lines != nil && cap(*p.lines) <= maxPooledLines {
		// Keeps no text alive: the strings this message wrote are
		// cleared, not the whole slice. That cost 3.5% of all the
		// parsing time, most of it in write barriers while the collector
		// runs: a pooled slice grows to the longest text read (512 lines
		// or more), for the 20 lines of most messages.
		l := (*p.lines)[:cap(*p.lines)]
		clear(l[:min(p.linesUsed, len(l))])
		*p.lines = (*p.lines)[:0]
		linesPool.Put(p.lines)
	}
	p.lines = nil
	p.releaseQP()
}

// textWithoutCR is strings.ReplaceAll(validText(b), "\r\n", "\n"). When b
// is valid UTF-8 without NULs (nearly always) the line ends are dropped in
// b itself, and the string is its only copy. b is overwritten.
func textWithoutCR(b []byte) string {
	return validTextWithoutCR(b, utf8.Valid(b))
}

// validTextWithoutCR is textWithoutCR(b) for b of which the caller knows
// whether it is valid UTF-8 (valid): readText has just looked, and
// utf8.Valid on a text part is a pass over all of it.
func validTextWithoutCR(b []byte, valid bool) string {
	if !valid || bytes.IndexByte(b, 0) >= 0 {
		return strings.ReplaceAll(validText(b), "\r\n", "\n")
	}
	// Move each run of bytes down over the CRs of the CRLFs dropped so
	// far (r-w of them); a CR not followed by LF stays, as ReplaceAll
	// leaves it. CRs are found with IndexByte: bytes.Index for "\r\n"
	// costs more per call, and mail has a CRLF on every short line.
	w, r, from := 0, 0, 0
	for {
		j := bytes.IndexByte(b[from:], '\r')
		if j < 0 {
			break
		}
		k := from + j // b[k] is a CR
		from = k + 1
		if k+1 < len(b) && b[k+1] == '\n' {
			if w != r {
				copy(b[w:], b[r:k])
			}
			w += k - r
			r = k + 1 // the LF starts the next run
			from = k + 2
		}
	}
	if w == r {
		return string(b) // no CRLF
	}
	w += copy(b[w:], b[r:])
	return string(b[:w])
}

// rawBody is the undecoded body, shown when no part could be read: what
// follows the message's first "\n\n", or else its first "\r\n\r\n" (nil
// when its header could not be read). It is looked for only then:
// bytes.Index looks for "\n\n" through the whole of a CRLF message,
// stopping at every line end: 5% of a short message's parse time, more
// for longer ones (15% for hostile-long-header.eml).
func (p *parser) rawBody() []byte {
	if i := bytes.Index(p.raw, []byte("\n\n")); i >= 0 {
		return p.raw[i+2:]
	} else if i := bytes.Index(p.raw, []byte("\r\n\r\n")); i >= 0 {
		return p.raw[i+4:]
	}
	return nil
}

// rawText is the undecoded body as text, at most MaxPartBytes of it:
// strings.ReplaceAll(validText(capBytes(body, p.opts.MaxPartBytes)),
// "\r\n", "\n"), made with textWithoutCR in a copy in the scratch
// buffer. ReplaceAll looks for every CRLF twice (to count them, then to
// replace them), and the raw body of a multipart message has one on
// every line of its boundaries and part headers.
func (p *parser) rawText(body []byte) string {
	if p.scratch == nil {
		p.scratch = scratchPool.Get().(*[]byte)
	}
	b := append((*p.scratch)[:0], capBytes(body, p.opts.MaxPartBytes)...)
	*p.scratch = b
	p.scratchUsed = max(p.scratchUsed, len(b))
	return textWithoutCR(b)
}

// rawBodyScaffolded is, for finish, rawBody, rawText, TrimSpace and
// withoutMIMEScaffolding of the raw body taken in one pass over its
// lines: body is strings.TrimSpace(p.rawText(raw)) and scan
// withoutMIMEScaffolding(body), with raw p.rawBody(); ok is false when
// that raw body is blank (bytes.TrimSpace). Most of a deeply nested
// message's parse time went there (hostile-nested.eml, 13 KB of
// boundaries and part headers): rawBody looked through the whole of a
// CRLF message for a "\n\n" it does not have, stopping at every line
// end, then the body was copied, looked through again for CRs, copied
// into a string, and its lines split a third time to drop the
// scaffolding. Here the body of a CRLF message is taken after the
// header's "\r\n\r\n", and a "\n\n" in it is noticed as an empty line of
// the same pass that drops the CRs before LFs and sorts the lines.
// Anything else (no "\r\n\r\n", a "\n\n" anywhere, invalid UTF-8, NULs)
// goes the old way. TestRawBodyScaffoldedMatchesOld compares the two.
func (p *parser) rawBodyScaffolded() (body, scan string, ok bool) {
	if body, scan, ok, done := p.rawBodyOnePass(); done {
		return body, scan, ok
	}
	raw := p.rawBody()
	if len(bytes.TrimSpace(raw)) == 0 {
		return "", "", false
	}
	body = strings.TrimSpace(p.rawText(raw))
	return body, withoutMIMEScaffolding(body), true
}

// rawBodyOnePass is rawBodyScaffolded's one pass; done is false when the
// old way must answer.
func (p *parser) rawBodyOnePass() (body, scan string, ok, done bool) {
	j := bytes.Index(p.raw, []byte("\r\n\r\n"))
	// rawBody takes the first "\n\n" of the message wherever it is: it
	// must be in none of the header, across its end, or the body.
	if j < 0 || bytes.Contains(p.raw[:min(j+5, len(p.raw))], []byte("\n\n")) {
		return "", "", false, false
	}
	rb := p.raw[j+4:]
	c := capBytes(rb, p.opts.MaxPartBytes)
	t := bytes.TrimSpace(c)
	if len(t) == 0 {
		if bytes.Contains(rb, []byte("\n\n")) {
			return "", "", false, false
		}
		if len(bytes.TrimSpace(rb)) == 0 {
			return "", "", false, true
		}
		return "", "", true, true // text only past the cap: rawText of blanks
	}
	// TrimSpace before dropping the CRs gives what TrimSpace after does
	// for valid UTF-8 without NULs (the CRs dropped are spaces before a
	// LF, a space too); other text goes the old way (validText).
	if !utf8.Valid(c) || bytes.IndexByte(c, 0) >= 0 {
		return "", "", false, false
	}
	s := cap(c) - cap(t) // where t starts in c (and rb)
	// t starts and ends with no LF, so a "\n\n" outside it is in the
	// spaces before or after it, or past the cap.
	if bytes.Contains(rb[:s], []byte("\n\n")) || bytes.Contains(rb[s+len(t):], []byte("\n\n")) {
		return "", "", false, false
	}
	if p.scratch == nil {
		p.scratch = scratchPool.Get().(*[]byte)
	}
	b := slices.Grow((*p.scratch)[:0], len(t))
	p.scratchUsed = max(p.scratchUsed, len(t)) // b never gets longer than t
	var stack [32][2]int
	runs := stack[:0] // the lines kept, as in withoutMIMEScaffolding, in b
	size := 0
	inHeader := false
	for i := 0; i < len(t); {
		end, next := len(t), len(t)
		if k := bytes.IndexByte(t[i:], '\n'); k >= 0 {
			end, next = i+k, i+k+1
		}
		if end == i {
			// An empty line after a LF: a "\n\n", from which rawBody
			// takes the body.
			*p.scratch = b
			return "", "", false, false
		}
		line := t[i:end]
		from := len(b)
		// The line with its LF, in one append; then the CR of a CRLF
		// gives way to the LF.
		b = append(b, t[i:next]...)
		if next > end && line[len(line)-1] == '\r' {
			b[len(b)-2] = '\n'
			b = b[:len(b)-1]
		}
		// withoutMIMEScaffolding's sorting; its trimming drops the CR of
		// a CRLF too, so the line reads the same with or without it.
		n := len(line)
		for n > 0 {
			if c := line[n-1]; c != ' ' && c != '\t' && c != '\r' {
				break
			}
			n--
		}
		l := line[:n]
		keep := false
		switch {
		case inHeader && len(l) > 0 && (l[0] == ' ' || l[0] == '\t'):
			// a part header's continuation
		case isBoundaryLine(l):
			inHeader = true
		case inHeader && (hasPrefixFoldBytes(l, "content-") || hasPrefixFoldBytes(l, "mime-version:")):
		default:
			inHeader, keep = false, true
		}
		if keep {
			if n := len(runs); n > 0 && runs[n-1][1] == from {
				runs[n-1][1] = len(b)
			} else {
				runs = append(runs, [2]int{from, len(b)})
			}
			size += len(b) - from
		}
		i = next
	}
	*p.scratch = b
	body = string(b)
	if size == 0 {
		return body, "", true, true
	}
	// body ends with no LF: a kept last line gets one, as every line kept
	// has (withoutMIMEScaffolding).
	return body, joinRuns(body, runs, size, runs[len(runs)-1][1] < len(body)), true, true
}

// hasPrefixFoldBytes is hasPrefixFold for bytes, with prefix lower-case
// ASCII. It compares bytes: EqualFold of len(prefix) bytes with an ASCII
// prefix only holds for ASCII bytes (the runes that fold to ASCII
// letters, K and ſ, take more than one byte, so a string holding one
// runs out first), and it decoded runes for the 200 part headers of a
// deeply nested message.
func hasPrefixFoldBytes(s []byte, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c, p := s[i], prefix[i]
		if c != p && !('a' <= p && p <= 'z' && c == p-('a'-'A')) {
			return false
		}
	}
	return true
}

// finish turns the collected text into the extracted request.
func (p *parser) finish() Request {
	r := &p.req
	var body string
	fromRaw := false
	plain := strings.TrimSpace(strings.Join(p.plain, "\n\n"))
	if plain != "" && !isHTMLStub(plain) {
		body = plain
	} else if len(p.html) > 0 {
		var texts []string
		for _, h := range p.html {
			texts = append(texts, htmlToText(h, p.opts.MaxPartBytes))
		}
		body = strings.TrimSpace(strings.Join(texts, "\n\n"))
		if body == "" {
			body = plain
		}
	} else {
		body = plain
	}
	// The undecoded body of a multipart message is mostly its MIME
	// scaffolding (200 nested parts are 13 KB of boundaries and part
	// headers); details are looked for in what is left (scan).
	var scan string
	if strings.TrimSpace(body) == "" && len(p.cals) == 0 {
		if b, s, ok := p.rawBodyScaffolded(); ok {
			body, scan = b, s
			p.problem("The message's text could not be decoded; it is shown as it arrived.")
			fromRaw = true
		}
	}
	r.BodyText = body

	if !fromRaw {
		scan = body
	}
	x := p.extract(scan)
	for _, c := range p.cals {
		p.readCalendar(c, &x)
	}
	p.decide(x)

	if strings.TrimSpace(r.BodyText) == "" && len(p.cals) == 0 {
		p.problem("The message has no readable text.")
	}
	if r.Name == "" && r.Email == "" && r.Phone == "" {
		p.problem("No patient name, email or phone number was found.")
	}
	if len(r.Problems) > 0 {
		r.NeedsReview = true
	}
	return *r
}

// withoutMIMEScaffolding drops from an undecoded multipart body the lines
// that are only its structure: boundary delimiters ("--b12", "--b12--")
// and part headers (Content-*, MIME-Version, with their continuation
// lines). Text in the parts stays, in order. The lines kept are copied
// in runs, into a string of the right size: in a deeply nested message
// (200 levels are 13 KB) nearly every line is dropped, and most of those
// kept are the blank lines after part headers.
func withoutMIMEScaffolding(body string) string {
	var stack [32][2]int
	runs := stack[:0] // the lines kept: runs of whole lines of body, with their LFs
	size := 0
	inHeader := false
	for i := 0; i < len(body); {
		end, next := len(body), len(body)
		if j := strings.IndexByte(body[i:], '\n'); j >= 0 {
			end, next = i+j, i+j+1
		}
		t := body[i:end]
		for len(t) > 0 && (t[len(t)-1] == ' ' || t[len(t)-1] == '\t' || t[len(t)-1] == '\r') {
			t = t[:len(t)-1]
		}
		keep := false
		switch {
		case inHeader && t != "" && (t[0] == ' ' || t[0] == '\t'):
			// a part header's continuation
		case isBoundaryLine(t):
			inHeader = true // part headers follow a delimiter
		case inHeader && (hasPrefixFold(t, "content-") || hasPrefixFold(t, "mime-version:")):
		default:
			inHeader, keep = false, true
		}
		if keep {
			if n := len(runs); n > 0 && runs[n-1][1] == i {
				runs[n-1][1] = next
			} else {
				runs = append(runs, [2]int{i, next})
			}
			size += next - i
		}
		i = next
	}
	if size == 0 {
		return ""
	}
	// A kept last line without a LF gets one, as every line kept has.
	return joinRuns(body, runs, size, runs[len(runs)-1][1] < len(body) || body[len(body)-1] == '\n')
}

// joinRuns is the runs of body kept (size bytes in all) in one string of
// the right size, with a LF added unless the last one ends with one
// (lastLF).
func joinRuns(body string, runs [][2]int, size int, lastLF bool) string {
	var b strings.Builder
	b.Grow(size + 1)
	for _, r := range runs {
		b.WriteString(body[r[0]:r[1]])
	}
	if !lastLF {
		b.WriteByte('\n')
	}
	return b.String()
}

// isBoundaryLine reports a MIME boundary delimiter line: "--" and a
// boundary (RFC 2046 bchars, no spaces), optionally closed by "--".
func isBoundaryLine[T string | []byte](t T) bool {
	if len(t) < 3 || len(t) > 74 || t[0] != '-' || t[1] != '-' {
		return false
	}
	for i := 2; i < len(t); i++ {
		if !isBchar[t[i]] {
			return false
		}
	}
	return true
}

// boundaryPunct are the characters other than ASCII letters and digits
// that isBoundaryLine takes in a boundary.
const boundaryPunct = "'()+_,-./:=?"

// isBchar is isASCIIAlnum(c) || strings.IndexByte(boundaryPunct, c) >= 0
// for every byte c: looked up once per byte of every line of an undecoded
// body (withoutMIMEScaffolding).
var isBchar = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = isASCIIAlnum(byte(c)) || strings.IndexByte(boundaryPunct, byte(c)) >= 0
	}
	return t
}()

// isHTMLStub reports a plain-text alternative that only says to read the
// HTML version.
func isHTMLStub(s string) bool {
	if len(s) > 200 {
		return false
	}
	// strings.ToLower(s) (appendLower), on the stack: it cost a string
	// and a rune at a time through strings.Map, ~8,000 instructions for a
	// 200-byte stub. A byte of s lower-cases to 3 at most (an invalid one
	// to U+FFFD).
	var buf [3 * 200]byte
	l := appendLower(buf[:0], s)
	return bytes.Contains(l, []byte("html")) && (bytes.Contains(l, []byte("view")) ||
		bytes.Contains(l, []byte("enable")) || bytes.Contains(l, []byte("support")))
}

// validText returns b as a valid UTF-8 string without NUL bytes.
func validText(b []byte) string {
	if utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 {
		// Nearly all mail text: one copy, where ToValidUTF8 and the
		// conversion made two.
		return string(b)
	}
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	return s
}

// validString is validText for a string: s itself, not a copy, when it is
// already valid and free of NULs (header values nearly always are).
func validString(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return validText([]byte(s))
}

func capBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// capString cuts s to at most n bytes on a rune boundary.
func capString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// plainError shortens a library error to something a receptionist can read.
func plainError(err error) string {
	s := err.Error()
	switch {
	case strings.Contains(s, "unexpected EOF"), strings.Contains(s, "EOF"):
		return "it ends too early"
	case strings.Contains(s, "base64"), strings.Contains(s, "illegal"):
		return "its encoding is broken"
	case strings.Contains(s, "quotedprintable"):
		return "its encoding is broken"
	case strings.Contains(s, "boundary"), strings.Contains(s, "multipart"):
		return "its part boundaries are broken"
	case strings.Contains(s, "header"):
		return "a header is malformed"
	}
	return "it could not be decoded"
}

// wordDecoder decodes RFC 2047 words in any charset go-message knows.
var wordDecoder = &mime.WordDecoder{CharsetReader: charsetReader}

// decodeHeaderText decodes encoded words in a header-like line of text.
func decodeHeaderText(s string) string {
	if d, err := wordDecoder.DecodeHeader(s); err == nil {
		return d
	}
	return s
}

// parseAddress reads "Name <addr>" or a bare address from forwarded text.
func parseAddress(s string) (name, addr string) {
	s = strings.TrimSpace(decodeHeaderText(s))
	if a, err := mail.ParseAddress(s); err == nil {
		return strings.TrimSpace(a.Name), strings.ToLower(a.Address)
	}
	if m := emailPattern.FindStringIndex(s); m != nil {
		addr = strings.ToLower(s[m[0]:m[1]])
		name = strings.Trim(strings.TrimSpace(s[:m[0]]), `"'<[( `)
		return name, addr
	}
	return strings.Trim(s, `"' `), ""
}
