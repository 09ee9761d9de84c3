package mailbox

import (
	"bytes"
	"encoding/binary"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

const (
	maxScanBytes = 32 << 10 // text searched for details
	maxLineScan  = 1000     // longest line matched against label patterns
	// free text searched for names, dates and phone numbers
	maxFreeTextScan = 8 << 10
)

// field is a piece of a request that a label can name.
type field int

const (
	fieldNone field = iota
	fieldName
	fieldGiven
	fieldFamily
	fieldEmail
	fieldPhone
	fieldDOB
	fieldRequested
	fieldRequestedDate
	fieldRequestedTime
	fieldMessage
)

// labels maps a folded label, as forms and scheduling services write it in
// several languages, to the field it names.
var labels = map[string]field{}

func init() {
	add := func(f field, names ...string) {
		for _, n := range names {
			labels[n] = f
		}
	}
	add(fieldName, "name", "full name", "your name", "patient name", "patient", "client name", "client",
		"invitee", "invitee name", "contact name", "nombre", "nombre completo", "su nombre", "tu nombre",
		"nombre del paciente", "tên", "họ và tên", "họ tên", "tên bệnh nhân", "имя", "фио", "ваше имя",
		"姓名", "名字", "お名前", "名前", "氏名", "nom", "nom complet", "name des patienten")
	add(fieldGiven, "first name", "first", "given name", "forename", "nombre de pila", "primer nombre",
		"prénom", "prenom", "tên riêng", "vorname")
	add(fieldFamily, "last name", "last", "surname", "family name", "apellido", "apellidos", "họ",
		"фамилия", "姓", "nom de famille", "nachname")
	add(fieldEmail, "email", "e-mail", "email address", "e-mail address", "your email", "invitee email",
		"correo", "correo electrónico", "correo electronico", "email del paciente", "địa chỉ email",
		"thư điện tử", "электронная почта", "эл. почта", "почта", "邮箱", "电子邮件", "电子邮箱", "郵箱",
		"courriel", "adresse e-mail")
	add(fieldPhone, "phone", "phone number", "telephone", "telephone number", "tel", "tel.", "mobile",
		"mobile phone", "mobile number", "cell", "cell phone", "your phone", "invitee phone number",
		"contact number", "teléfono", "telefono", "número de teléfono", "celular", "móvil", "movil",
		"số điện thoại", "điện thoại", "sđt", "телефон", "номер телефона", "电话", "电话号码", "手机",
		"手机号", "電話", "電話番号", "téléphone", "telefon")
	add(fieldDOB, "date of birth", "dob", "d.o.b.", "birth date", "birthdate", "birthday",
		"fecha de nacimiento", "ngày sinh", "дата рождения", "出生日期", "生日", "date de naissance",
		"geburtsdatum")
	add(fieldRequested, "preferred date and time", "preferred date/time", "requested time",
		"requested date and time", "appointment time", "appointment", "date/time", "date and time",
		"event date/time", "when", "start time", "scheduled time", "fecha y hora", "fecha y hora preferida",
		"thời gian hẹn", "ngày giờ", "желаемые дата и время", "дата и время", "预约时间", "预约日期",
		"date et heure")
	add(fieldRequestedDate, "preferred date", "requested date", "date", "appointment date", "fecha",
		"fecha preferida", "ngày hẹn", "ngày", "желаемая дата", "дата", "日期", "date souhaitée")
	add(fieldRequestedTime, "preferred time", "requested time of day", "time", "hora", "hora preferida",
		"giờ", "время", "时间")
	add(fieldMessage, "message", "your message", "reason", "reason for visit", "reason for appointment",
		"comments", "comment", "notes", "note", "additional information", "additional notes",
		"questions", "how can we help", "how can we help?", "what brings you in",
		"what brings you in?", "please share anything that will help prepare for our meeting.",
		"mensaje", "motivo", "motivo de la consulta", "motivo de la visita", "comentarios",
		"lời nhắn", "lý do", "lý do khám", "tin nhắn", "сообщение", "причина", "причина обращения",
		"комментарий", "留言", "原因", "备注", "就诊原因", "motif", "nachricht")
}

// splitLabel splits "Label: value" (also with a full-width colon or a tab,
// as HTML tables become) into its label and value.
// TestSplitLabelMatchesOld checks it against the way it was written first
// (strings.IndexAny, strings.Index and strings.TrimLeft with the cutset).
func splitLabel(line string) (label, value string, ok bool) {
	// The label ends within 80 bytes: only that much is searched, once,
	// for the first ':', tab or full-width colon (strings.IndexAny and
	// strings.Index searched it apart).
	head := line
	if len(head) > 80+len("：") {
		head = head[:80+len("：")]
	}
	// The first of them: each is searched for (a vector search each) in
	// what lies before those found, which costs less than a loop over the
	// bytes of a long line.
	i := -1
	if k := strings.IndexByte(head, ':'); k >= 0 {
		i, head = k, head[:k]
	}
	if k := strings.IndexByte(head, '\t'); k >= 0 {
		i, head = k, head[:k]
	}
	for off := 0; ; {
		k := strings.IndexByte(head[off:], "："[0])
		if k < 0 {
			break
		}
		if strings.HasPrefix(head[off+k:], "：") {
			i = off + k
			break
		}
		off += k + 1
	}
	if i <= 0 || i > 80 {
		return "", "", false
	}
	label = trimLabelLeft(line[:i])
	label = strings.TrimSpace(trimMarks(label, true))
	if label == "" {
		return "", "", false
	}
	_, size := utf8.DecodeRuneInString(line[i:])
	return label, strings.TrimSpace(line[i+size:]), true
}

// trimLabelLeft is strings.TrimLeft(s, " \t>*•·-"): the bullets and quote
// marks before a label. The cutset's two non-ASCII runes send TrimLeft to
// its slow way, a rune decoded and looked up in the cutset at a time.
func trimLabelLeft(s string) string {
	for s != "" {
		switch c := s[0]; {
		case c == ' ' || c == '\t' || c == '>' || c == '*' || c == '-':
			s = s[1:]
		case strings.HasPrefix(s, "•"):
			s = s[len("•"):]
		case strings.HasPrefix(s, "·"):
			s = s[len("·"):]
		default:
			return s
		}
	}
	return s
}

// trimMarks is strings.Trim(s, "*_ ") (spaces too) or strings.Trim(s, "*_"):
// the bold and underline marks around labels and values. strings.Trim
// builds a set of its cutset's bytes on every call, and is called for
// every line of a request, twice. TestTrimMarksMatchesTrim checks it.
func trimMarks(s string, spaces bool) string {
	mark := func(c byte) bool { return c == '*' || c == '_' || spaces && c == ' ' }
	for len(s) > 0 && mark(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && mark(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// lookupLabel returns the field a label names.
func lookupLabel(label string) field {
	l := trimMarks(strings.TrimSpace(label), true)
	if l == "" || !startsLikeWord(l) {
		return fieldNone // every label starts with a letter
	}
	// Lower-case on the stack, in any script (appendLower is
	// strings.ToLower): most labels are short, and the Russian, Vietnamese
	// and Chinese ones were each lower-cased into a new string. The map
	// lookup of string(b) makes no string either.
	var buf [128]byte
	var b []byte
	if len(l) <= len(buf) && isASCII(l) {
		// Most labels: ASCII, lower-cased a byte at a time.
		b = buf[:len(l)]
		for i := 0; i < len(l); i++ {
			c := l[i]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			b[i] = c
		}
	} else {
		b = appendLower(buf[:0], l)
	}
	b = bytes.TrimSuffix(b, []byte("(optional)"))
	b = bytes.TrimSuffix(b, []byte("*"))
	b = bytes.TrimSpace(b)
	return labels[string(b)]
}

var (
	emailPattern = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)
	namePatterns = []*regexp.Regexp{
		regexp.MustCompile(`(?:(?i:` + strings.Join(namePhrases, "|") + `))[ \t]+(\p{Lu}[\p{L}'’\-]+(?:[ \t]+\p{Lu}[\p{L}'’\-]+){0,3})`),
		regexp.MustCompile(`(?m)^(?:(?i:hi|hello|dear [^,]+|hola)[,!]?\s*)?(?i:this is)[ \t]+(\p{Lu}[\p{L}'’\-]+(?:[ \t]+\p{Lu}[\p{L}'’\-]+){0,3})`),
		regexp.MustCompile(`(?:我叫|我的名字是|我是)(\p{Han}{2,4})`),
	}
	closingLine   = regexp.MustCompile(`(?i)^(?:` + strings.Join(slices.Concat(asciiClosings, otherClosings), "|") + `)[\s,.!]*$`)
	signatureName = regexp.MustCompile(`^(?:\p{Lu}[\p{L}'’\-.]*(?:[ \t]+\p{Lu}[\p{L}'’\-.]*){0,3}|\p{Han}{2,4})$`)
	dobInText     = regexp.MustCompile(`(?i)(?:born(?: on)?|date of birth(?: is)?|birthday is|dob)\s*:?\s*([^\n]{6,40})`)
	relativeDay   = regexp.MustCompile(`(?i)\b(?:(?:next|this|coming)\s+)?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow|mon|tue|wed|thu|fri|sat)(?:\s+(?:morning|afternoon|evening))?(?:\s+(?:at|around|after|before)\s+\d{1,2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?)?\b`)
)

// extracted is what the text and calendar parts said, before deciding
// which source of each field to trust.
type extracted struct {
	name, given, family, email, phone, dob      string
	requestedText, requestedDate, requestedTime string
	message                                     string
	labelCount                                  int

	forwarded         bool
	fwdName, fwdEmail string
	freeName          string
	freeEmail         string
	freePhone         string
	freeRequested     string
	calendar          bool
	calName, calEmail string
	calSummary        string
	calStart          time.Time
	calStartText      string
	extractionText    string
}

// extract reads label-value lines and free text from the readable body.
func (p *parser) extract(body string) extracted {
	var x extracted
	// Booking details sit near the top; scanning a bounded prefix keeps a
	// megabyte of text from costing seconds of pattern matching.
	scanned := capString(body, maxScanBytes)
	text := scanned
	// The text lower-cased, for the searches for words: into a pooled
	// buffer, as strings.ToLower would have made a copy of each text.
	lowerBuf := lowerPool.Get().(*[]byte)
	defer lowerPool.Put(lowerBuf)
	lowerText := appendLower((*lowerBuf)[:0], text)
	*lowerBuf = lowerText

	// A forwarded message: the patient is the original sender.
	if fwd, ok := findForwarded(text, lowerText, p.req.Subject); ok {
		x.forwarded = true
		x.fwdName, x.fwdEmail = fwd.name, fwd.email
		text = fwd.body
	} else if p.embedded != nil {
		x.forwarded = true
		x.fwdEmail = firstAddress(p.embedded, "From")
		x.fwdName = addressName(p.embedded, "From")
	}
	if p.lines == nil {
		p.lines = linesPool.Get().(*[]string)
	}
	all := splitLines(*p.lines, text)
	*p.lines = all[:0] // all's own array if it grew: that one is pooled then
	p.linesUsed = max(p.linesUsed, len(all))
	text, lines := stripQuotedLines(text, all)
	x.extractionText = text

	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(capString(lines[i], maxLineScan))
		if line == "" {
			continue
		}
		var f field
		var value string
		if label, v, ok := splitLabel(line); ok {
			f = lookupLabel(label)
			value = strings.TrimSpace(trimMarks(v, false))
		}
		if f == fieldNone {
			// The label alone on its line, the value on the next.
			if len(line) >= 40 || i+1 >= len(lines) {
				continue
			}
			if f = lookupLabel(line); f == fieldNone {
				continue
			}
		}
		if value == "" {
			// The value is on the next non-empty line, unless that is a label.
			for j := i + 1; j < len(lines) && j <= i+2; j++ {
				next := strings.TrimSpace(lines[j])
				if next == "" {
					continue
				}
				if isLabelLine(next) {
					break
				}
				value = next
				i = j
				break
			}
		}
		if f == fieldMessage {
			// A message runs on until the next label.
			var stack [16]string
			more := stack[:0]
			for j := i + 1; j < len(lines); j++ {
				next := strings.TrimSpace(lines[j])
				if isLabelLine(next) || strings.HasPrefix(next, "--") || isClosingLine(next) {
					break
				}
				more = append(more, next)
				i = j
			}
			value = joinMessage(value, more)
		}
		if value == "" {
			continue
		}
		x.labelCount++
		setOnce := func(dst *string, v string) {
			if *dst == "" {
				*dst = capString(v, 2000)
			}
		}
		switch f {
		case fieldName:
			setOnce(&x.name, cleanName(value))
		case fieldGiven:
			setOnce(&x.given, cleanName(value))
		case fieldFamily:
			setOnce(&x.family, cleanName(value))
		case fieldEmail:
			if m := findEmail(value); m != "" {
				setOnce(&x.email, strings.ToLower(m))
			}
		case fieldPhone:
			setOnce(&x.phone, value)
		case fieldDOB:
			setOnce(&x.dob, value)
		case fieldRequested:
			setOnce(&x.requestedText, value)
		case fieldRequestedDate:
			setOnce(&x.requestedDate, value)
		case fieldRequestedTime:
			setOnce(&x.requestedTime, value)
		case fieldMessage:
			setOnce(&x.message, value)
		}
	}

	// Free text, only for what no label gave: names, emails, phone
	// numbers, dates of birth, days. Cheap substring checks keep the
	// patterns from running over text that cannot match.
	text = capString(text, maxFreeTextScan)
	var lower []byte
	switch {
	case len(text) == len(scanned) && text == scanned:
		// Neither a forward, quoted lines nor the cap cut the text: it
		// was lower-cased above, in any script.
		lower = lowerText
	case isASCII(text) && strings.HasPrefix(body, text):
		// Cut only at the end: it starts the text lower-cased above, byte
		// for byte.
		lower = lowerText[:len(text)]
	default:
		// findForwarded is done with lowerText: its buffer is reused.
		lower = appendLower(lowerText[:0], text)
		*lowerBuf = lower
	}
	if x.name == "" && x.given == "" && x.family == "" {
		for i, re := range namePatterns {
			if !containsAnyBytes(lower, nameTriggers[i]) {
				continue
			}
			find := re.FindStringSubmatch
			switch i {
			case 0:
				find = findNameIs
			case 1:
				find = findThisIs
			}
			if m := find(text); m != nil {
				x.freeName = cleanName(m[1])
				break
			}
		}
		if x.freeName == "" {
			x.freeName = signatureNameOf(lines)
		}
	}
	if x.email == "" && strings.IndexByte(text, '@') >= 0 {
		if m := findEmail(text); m != "" {
			x.freeEmail = strings.ToLower(m)
		}
	}
	if x.phone == "" {
		x.freePhone = findPhone(text, p.opts.DefaultRegion)
	}
	if x.dob == "" && containsAnyBytes(lower, dobTriggers) {
		if m := dobInText.FindStringSubmatch(text); m != nil {
			if _, ok := findDate(m[1], p.opts.DefaultRegion); ok {
				x.dob = m[1]
			}
		}
	}
	if x.requestedText == "" && x.requestedDate == "" && x.requestedTime == "" &&
		containsAnyBytes(lower, dayTriggers) {
		if m := findRelativeDay(text); m != "" {
			x.freeRequested = strings.Join(strings.Fields(m), " ")
		}
	}
	return x
}

// joinMessage is strings.TrimSpace(value + "\n" + strings.Join(more,
// "\n")), the lines of a message, made in one string (the concatenation
// and the join made two), or none when there are no more lines.
// TestJoinMessageMatchesJoin checks it.
func joinMessage(value string, more []string) string {
	if len(more) == 0 {
		return strings.TrimSpace(value) // the "\n" would be trimmed
	}
	size := len(value) + len(more)
	for _, l := range more {
		size += len(l)
	}
	var b strings.Builder
	b.Grow(size)
	b.WriteString(value)
	for _, l := range more {
		b.WriteByte('\n')
		b.WriteString(l)
	}
	return strings.TrimSpace(b.String())
}

// findEmail is emailPattern.FindString(s), without the regexp: the
// pattern has no literal prefix, so the regexp engine tries it at every
// byte of the text. A match's local part is the whole run of local
// characters before an "@" (none of them is "@"), so the leftmost match
// belongs to the first "@" after a non-empty run that has a domain:
// domain characters, then "." and two or more letters; the greedy domain
// part takes up to the last such "." in the run of domain characters, and
// the letters as many as follow it. The classes are ASCII, so bytes are
// read, not runes. TestFindEmailMatchesRegexp checks it.
func findEmail(s string) string {
	for at := strings.IndexByte(s, '@'); at >= 0; {
		start := at
		for start > 0 && isEmailLocalByte(s[start-1]) {
			start--
		}
		end := at + 1
		for end < len(s) && isEmailDomainByte(s[end]) {
			end++
		}
		if start < at {
			// The last "." with at least one domain byte before it and two
			// letters after it.
			for dot := end - 1; dot > at+1; dot-- {
				if s[dot] != '.' {
					continue
				}
				letters := dot + 1
				for letters < end && isASCIILetter(s[letters]) {
					letters++
				}
				if letters-dot-1 >= 2 {
					return s[start:letters]
				}
			}
		}
		next := strings.IndexByte(s[at+1:], '@')
		if next < 0 {
			break
		}
		at += 1 + next
	}
	return ""
}

func isEmailDomainByte(c byte) bool { return isASCIIAlnum(c) || c == '.' || c == '-' }
func isEmailLocalByte(c byte) bool {
	return isEmailDomainByte(c) || c == '_' || c == '%' || c == '+'
}

// relativeDayAt is relativeDay anchored at the start of the text.
var relativeDayAt = regexp.MustCompile(`^` + relativeDay.String())

// findRelativeDay is relativeDay.FindString(text), sooner. relativeDay
// has no literal prefix, so the regexp engine tries every alternative at
// every byte of the text (40 µs for a 300-byte note). Every match starts
// at a word that begins with one of the day words' first three letters,
// or at the "next"/"this"/"coming" before such a word, and only there (at a
// word start, \b holds). Those few places are tried in order with the
// pattern anchored, so the first match is relativeDay's leftmost match.
// Each place is preceded by a non-word byte, as in the whole text, so \b
// reads the same. The search for the words is ASCII: (?i) also folds "ſ"
// to "s", so a text with one takes the pattern's own way.
// TestFindRelativeDayMatchesRegexp checks it.
func findRelativeDay(text string) string {
	if strings.Contains(text, "ſ") {
		return relativeDay.FindString(text)
	}
	tried := -1 // the last place tried
	try := func(i int) string {
		if i <= tried {
			return ""
		}
		tried = i
		return relativeDayAt.FindString(text[i:relativeDayEnd(text, i)])
	}
	for d := 0; d+3 <= len(text); d++ {
		if !isASCIILetter(text[d]) || d > 0 && isWordByte(text[d-1]) || !isDayStem(text[d:d+3]) {
			continue
		}
		// The day word is followed by \s or \b: it is the whole word
		// ("month" and "Mondays" cannot match, here or after a "next").
		e := d
		for e < len(text) && isWordByte(text[e]) {
			e++
		}
		if !isFoldedWord(text[d:e], dayWords) {
			continue
		}
		// A "next " (any spacing) before the day: back over the spaces
		// (\s is [\t\n\f\r ]) and the letters before them.
		c := d
		for c > 0 && isRegexpSpace(text[c-1]) {
			c--
		}
		if c < d {
			w := c
			for w > 0 && isASCIILetter(text[w-1]) {
				w--
			}
			// Only "next", "this" or "coming" can start a match there (a
			// day word there was tried as a day).
			if w < c && (w == 0 || !isWordByte(text[w-1])) && isFoldedWord(text[w:c], nextWords) {
				if m := try(w); m != "" {
					return m
				}
			}
		}
		if m := try(d); m != "" {
			return m
		}
	}
	return ""
}

// relativeDayEnd returns where a try of relativeDayAt at text[i:] may stop
// reading: after the first byte from i on that no match holds. The regexp
// engine clears a bit for every byte of the text it is given and every
// instruction of the pattern before it starts, so a try at a 500-byte note
// cost as much as the note is long, though a match is a few words. A match
// holds only ASCII letters and digits, \s, ":" and "." (its words have no
// "k" or "s" that "\u212a" or "ſ" could fold to, and a text with "ſ"
// does not come here); the byte that stops it is kept, as \b reads it.
// TestFindRelativeDayMatchesRegexp checks the tries against the pattern.
func relativeDayEnd(text string, i int) int {
	for ; i < len(text); i++ {
		if c := text[i]; !isASCIIAlnum(c) && !isRegexpSpace(c) && c != ':' && c != '.' {
			return i + 1
		}
	}
	return len(text)
}

// dayWords and nextWords are relativeDay's day words and the words
// before them.
var (
	dayWords = []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "tomorrow",
		"mon", "tue", "wed", "thu", "fri", "sat"}
	nextWords = []string{"next", "this", "coming"}
)

// isFoldedWord reports whether w, in any ASCII case, is one of words.
func isFoldedWord(w string, words []string) bool {
	for _, x := range words {
		if len(w) == len(x) && strings.EqualFold(w, x) {
			return true
		}
	}
	return false
}

// isDayStem reports the first three letters, in any case, of one of
// relativeDay's day words.
func isDayStem(s string) bool {
	var b [3]byte
	for i := range b {
		b[i] = s[i] | 0x20 // lower-cases letters; s[0] is one
	}
	switch string(b[:]) {
	case "mon", "tue", "wed", "thu", "fri", "sat", "sun", "tom":
		return true
	}
	return false
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// isWordByte reports a byte of an ASCII word character, as \b reads them.
func isWordByte(c byte) bool { return isASCIIAlnum(c) || c == '_' }

// isRegexpSpace reports the bytes \s matches.
func isRegexpSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

// namePhrases are the phrases that introduce a name in namePatterns[0]
// ("my name is Ann Lee").
var namePhrases = []string{"my name is", "my name's", "me llamo", "mi nombre es", "je m'appelle", "je suis",
	"tên tôi là", "tôi tên là", "tôi là", "меня зовут", "ich heiße", "ich bin"}

// nameIsAt is namePatterns[0] anchored at the start of the text, and
// namePhraseStarts marks the bytes a match of it can start with: the first
// byte of every letter a phrase's first letter folds to (?i).
var (
	nameIsAt         = regexp.MustCompile(`^(?:` + namePatterns[0].String() + `)`)
	namePhraseStarts = func() (starts [256]bool) {
		for _, ph := range namePhrases {
			r, _ := utf8.DecodeRuneInString(ph)
			for f := unicode.SimpleFold(r); ; f = unicode.SimpleFold(f) {
				starts[utf8.AppendRune(nil, f)[0]] = true
				if f == r {
					break
				}
			}
		}
		return starts
	}()
)

// findNameIs is namePatterns[0].FindStringSubmatch(text), sooner. The
// pattern has no literal prefix, so the regexp engine tries its dozen
// phrases, folded, at every byte of the text (40 µs for a 176-byte
// Vietnamese note). A match starts with one of the phrases in any case, so
// only the places where one does are tried, in order, with the pattern
// anchored; the first match is the pattern's leftmost one. A match does
// not cross a line ([ \t]+ and the name's letters are all it reads after
// the phrase, and no phrase holds a line break), so each try reads only to
// the end of its line. TestFindNameIsMatchesRegexp checks it.
func findNameIs(text string) []string {
	for p := 0; p < len(text); p++ {
		if !namePhraseStarts[text[p]] {
			continue
		}
		for _, ph := range namePhrases {
			if !hasPrefixFoldRunes(text[p:], ph) {
				continue
			}
			line := text[p:]
			if eol := strings.IndexByte(line, '\n'); eol >= 0 {
				line = line[:eol]
			}
			if m := nameIsAt.FindStringSubmatch(line); m != nil {
				return m
			}
			break // the pattern tried every phrase at p
		}
	}
	return nil
}

// findThisIs is namePatterns[1].FindStringSubmatch(text), without running
// the pattern over a text it cannot match: a text says "this is" far more
// often than it gives a name after it, and the pattern, starting with
// (?m)^ and no literal, cost 14,000 instructions on a 49-byte line. A
// match holds "this is" in any case, then [ \t]+ and a \p{Lu} (outside
// the (?i) groups): an ASCII capital or a non-ASCII rune. Under (?i) "s"
// also matches "ſ", so a text with one takes the pattern.
// TestFindThisIsMatchesRegexp checks it.
func findThisIs(text string) []string {
	if !strings.Contains(text, "ſ") && !thisIsBeforeCapital(text) {
		return nil
	}
	return namePatterns[1].FindStringSubmatch(text)
}

// thisIsBeforeCapital reports whether s has "this is", in any ASCII case,
// then spaces or tabs and an ASCII capital or a non-ASCII byte.
func thisIsBeforeCapital(s string) bool {
	const phrase = "this is"
	for i := 0; i+len(phrase) < len(s); i++ {
		if s[i]|0x20 != 't' || !hasPrefixFold(s[i:], phrase) {
			continue
		}
		j := i + len(phrase)
		k := j
		for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
			k++
		}
		if k > j && k < len(s) && (s[k] >= 'A' && s[k] <= 'Z' || s[k] >= utf8.RuneSelf) {
			return true
		}
	}
	return false
}

// hasPrefixFoldRunes reports whether s starts with prefix as (?i) reads
// it: rune by rune, each in any of the forms unicode.SimpleFold goes
// through (so "ß" is also "ẞ", and "k" the Kelvin sign). A byte that is not
// UTF-8 is U+FFFD, as the regexp engine reads it.
func hasPrefixFoldRunes(s, prefix string) bool {
	for _, want := range prefix {
		r, size := utf8.DecodeRuneInString(s)
		if size == 0 || !runeFoldEqual(r, want) {
			return false
		}
		s = s[size:]
	}
	return true
}

// runeFoldEqual reports whether r is want or another form of it in
// unicode.SimpleFold's orbit.
func runeFoldEqual(r, want rune) bool {
	if r == want {
		return true
	}
	for f := unicode.SimpleFold(want); f != want; f = unicode.SimpleFold(f) {
		if f == r {
			return true
		}
	}
	return false
}

// nameTriggers are substrings (lower case) one of which each of
// namePatterns needs in order to match; dobTriggers those dobInText needs,
// and dayTriggers those relativeDay needs.
var (
	nameTriggers = [][][]byte{
		byteWords("my name", "me llamo", "mi nombre", "je m'appelle", "je suis", "tên", "tôi là", "меня зовут", "ich hei", "ich bin"),
		byteWords("this is"),
		byteWords("我叫", "我的名字是", "我是"),
	}
	dobTriggers = byteWords("born", "birth", "dob")
	dayTriggers = byteWords("day", "tomorrow", "mon", "tue", "wed", "thu", "fri", "sat")
)

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// containsAnyBytes is containsAny over bytes.
func containsAnyBytes(b []byte, subs [][]byte) bool {
	for _, sub := range subs {
		if bytes.Contains(b, sub) {
			return true
		}
	}
	return false
}

// byteWords returns words as byte slices, for containsAnyBytes.
func byteWords(words ...string) [][]byte {
	b := make([][]byte, len(words))
	for i, w := range words {
		b[i] = []byte(w)
	}
	return b
}

// lowerPool holds the buffers extract lower-cases text into (at most
// maxScanBytes of text, up to three times that lower-cased).
var lowerPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// appendLower appends strings.ToLower(s) to dst, without making a string
// of it: ASCII bytes are lowered in place, other runes by unicode.ToLower,
// and a byte that is not UTF-8 becomes U+FFFD, as strings.Map makes it.
// TestAppendLowerMatchesToLower checks it.
func appendLower(dst []byte, s string) []byte {
	dst = slices.Grow(dst, len(s))
	for i := 0; i < len(s); {
		if len(s)-i >= 8 {
			// Eight ASCII bytes at a time (most text is ASCII; a byte
			// at a time was most of the cost of lower-casing a text).
			w := stringWord(s[i : i+8])
			if w&asciiHighBits == 0 {
				dst = binary.LittleEndian.AppendUint64(dst, lowerASCIIWord(w))
				i += 8
				continue
			}
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		dst = utf8.AppendRune(dst, lowerRune(r))
		i += size
	}
	return dst
}

// asciiHighBits is the high bit of each byte of a uint64: none is set in
// eight ASCII bytes.
const asciiHighBits = 0x8080808080808080

// stringWord is the first eight bytes of s as a little-endian uint64 (the
// compiler makes the eight loads one).
func stringWord(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// lowerASCIIWord lower-cases the eight ASCII bytes in w (no high bit set)
// at once: a byte gets 0x20 added when it is 'A' to 'Z'. Adding 0x80-'A'
// to each byte sets its high bit when it is 'A' or above, adding
// 0x80-'Z'-1 when it is above 'Z'; neither sum carries into the next byte
// (no byte is above 0x7F). TestAppendLowerMatchesToLower checks it.
func lowerASCIIWord(w uint64) uint64 {
	const ones = 0x0101010101010101
	atLeastA := w + ones*(0x80-'A')
	aboveZ := w + ones*(0x80-'Z'-1)
	upper := atLeastA &^ aboveZ & asciiHighBits
	return w | upper>>2
}

// lowerRune is unicode.ToLower(r), looked up in a table for the letters of
// Latin, Greek, Cyrillic and Vietnamese text and passed over for Chinese,
// Japanese and Korean (which have no case): unicode.ToLower searches the
// case ranges for each rune, and appendLower lower-cases every text whole.
// TestLowerRuneMatchesToLower checks every rune.
func lowerRune(r rune) rune {
	switch {
	case uint32(r) < uint32(len(lowerTable)):
		return rune(lowerTable[r])
	case r >= 0x1e00 && r < 0x1f00:
		return rune(lowerLatinExtra[r-0x1e00])
	case r >= 0x3000 && r <= 0x9fff, r >= 0xac00 && r <= 0xd7a3:
		return r
	}
	return unicode.ToLower(r)
}

// lowerTable holds unicode.ToLower of the runes below U+0800 (all two
// bytes or fewer in UTF-8), and lowerLatinExtra of U+1E00 to U+1EFF.
var lowerTable, lowerLatinExtra = func() (t [0x800]uint16, x [0x100]uint16) {
	for r := range t {
		t[r] = uint16(unicode.ToLower(rune(r)))
	}
	for r := range x {
		x[r] = uint16(unicode.ToLower(rune(0x1e00 + r)))
	}
	return t, x
}()

// isLabelLine reports whether a line is "Label: value" with a known label.
func isLabelLine(line string) bool {
	line = capString(line, maxLineScan)
	if label, _, ok := splitLabel(line); ok && lookupLabel(label) != fieldNone {
		return true
	}
	return len(line) < 40 && lookupLabel(line) != fieldNone
}

// isASCII reports whether s is all ASCII.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// cleanName tidies a name: one space between words, no surrounding quotes.
func cleanName(s string) string {
	if !fieldsJoined(s) {
		s = strings.Join(strings.Fields(s), " ")
	}
	s = strings.Trim(s, `"'.,;: `)
	return capString(s, 200)
}

// singleSpaced reports an ASCII s that strings.Join(strings.Fields(s), " ")
// leaves as it is: no whitespace but single spaces between other bytes
// (a name nearly always is). TestSingleSpacedMatchesFields checks it.
func singleSpaced(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 0x80 || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r':
			return false
		case c == ' ' && (i == 0 || i == len(s)-1 || s[i+1] == ' '):
			return false
		}
	}
	return true
}

// fieldsJoined reports an s, in any script, that strings.Join(
// strings.Fields(s), " ") leaves as it is: no white space (unicode.IsSpace)
// but single spaces between words. Names not written in ASCII (Spanish,
// Vietnamese, Russian, Chinese ones) were split into words and joined
// again, two allocations each. TestSingleSpacedMatchesFields checks it.
func fieldsJoined(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if asciiSpace[c] && (c != ' ' || i == 0 || i == len(s)-1 || s[i+1] == ' ') {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) {
			return false
		}
		i += size
	}
	return true
}

// asciiClosings and otherClosings are the lines that close a letter
// (closingLine); isClosingLine reads the ASCII ones without the regexp.
var (
	asciiClosings = []string{"thanks", "thank you", "many thanks", "regards", "best", "best regards", "kind regards",
		"warm regards", "sincerely", "cheers", "thanks again", "gracias", "muchas gracias", "saludos", "atentamente",
		"un saludo", "cordialement", "merci"}
	otherClosings = []string{"cảm ơn", "xin cảm ơn", "trân trọng", "спасибо", "с уважением", "谢谢", "此致"}
)

// closingWords are asciiClosings as a set, and longestClosing the longest.
var closingWords, longestClosing = func() (map[string]bool, int) {
	m, longest := map[string]bool{}, 0
	for _, w := range asciiClosings {
		m[w], longest = true, max(longest, len(w))
	}
	return m, longest
}()

// isClosingLine is closingLine.MatchString(s), without the regexp for an
// ASCII line (signatureNameOf asks it of many lines): the line is one
// closing, in any case, then only spaces and ",.!". No closing ends in one
// of those, so the closing is the line without its trailing run of them.
// An ASCII line cannot match a non-ASCII closing, and its letters fold
// only to ASCII ones; other lines take the regexp.
// TestIsClosingLineMatchesRegexp checks them against each other.
func isClosingLine(s string) bool {
	if !isASCII(s) {
		return closingLine.MatchString(s)
	}
	end := len(s)
	for end > 0 && (isRegexpSpace(s[end-1]) || s[end-1] == ',' || s[end-1] == '.' || s[end-1] == '!') {
		end--
	}
	if end > longestClosing {
		return false // longer than every closing
	}
	var buf [32]byte
	b := append(buf[:0], s[:end]...)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return closingWords[string(b)]
}

// signatureNameOf finds a name on the line after a closing ("Thanks,").
func signatureNameOf(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		if t := strings.TrimSpace(lines[i]); len(t) < 4 || len(t) > 40 || !startsLikeWord(t) || !isClosingLine(t) {
			continue
		}
		for j := i + 1; j < len(lines) && j <= i+2; j++ {
			cand := strings.TrimSpace(lines[j])
			if cand == "" {
				continue
			}
			if signatureName.MatchString(cand) && len([]rune(cand)) <= 60 {
				return cleanName(cand)
			}
			break
		}
	}
	return ""
}

// startsLikeWord reports whether s may start with a word: its first byte is
// a letter or not ASCII. Every closing and attribution pattern starts with
// a letter, so other lines ("--", "> ", digits) need not be matched.
func startsLikeWord(s string) bool {
	c := s[0]
	return c >= 0x80 || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// findPhone returns the first valid phone number in text, in E.164.
// Candidates are runs of digits and the separators people type between
// them ("+1 (503) 555-0142", "503.555.0142") holding 7 to 15 digits.
func findPhone(text, region string) string {
	tried := 0
	for i := 0; i < len(text) && tried < 20; {
		c := text[i]
		if !(c >= '0' && c <= '9') && c != '+' && c != '(' {
			i++
			continue
		}
		// A number does not start inside a word or another number.
		if i > 0 && (isASCIIAlnum(text[i-1]) || text[i-1] == '/' || text[i-1] == ':') {
			i++
			for i < len(text) && (isASCIIAlnum(text[i]) || text[i] == '/' || text[i] == ':') {
				i++
			}
			continue
		}
		j, digits, lastDigit := i, 0, i
		for j < len(text) {
			d := text[j]
			switch {
			case d >= '0' && d <= '9':
				digits++
				lastDigit = j
			case d == ' ' || d == '\t' || d == '(' || d == ')' || d == '.' || d == '-' || (d == '+' && j == i):
			case strings.HasPrefix(text[j:], "–"):
				j += len("–") - 1
			default:
				goto end
			}
			j++
		}
	end:
		if digits >= 7 && digits <= 15 && (lastDigit+1 >= len(text) || !isASCIIAlnum(text[lastDigit+1])) {
			tried++
			if e, ok := normalizePhone(text[i:lastDigit+1], region); ok {
				return e
			}
		}
		if j == i {
			j++
		}
		i = j
	}
	return ""
}

func isASCIIAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// normalizePhone returns a phone number in E.164 if it is a valid number.
func normalizePhone(s, region string) (string, bool) {
	digits := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	if digits < 7 || digits > 15 {
		return "", false
	}
	if nn, ok := nanpDigits(s, region); ok {
		// parsePhone's commonest case, without the PhoneNumber (three
		// allocations) and the national number made a string twice (by
		// isValidPhone and e164): "+1" and the ten digits, which are the
		// national significant number.
		var buf [24]byte
		e := string(strconv.AppendUint(append(buf[:0], "+1"...), nn, 10))
		if !isValidNSN(1, e[2:]) {
			return "", false
		}
		return e, true
	}
	n, err := parsePhone(s, region)
	if err != nil || !isValidPhone(n) {
		return "", false
	}
	return e164(n), true
}

// e164 is phonenumbers.Format(n, phonenumbers.E164): for a number with a
// national number, "+", the country code and the national significant
// number (what FormatWithBuf writes for E164, through three builders);
// Format gives back the raw input of one without. TestE164MatchesFormat
// checks them against each other.
func e164(n *phonenumbers.PhoneNumber) string {
	if n.GetNationalNumber() == 0 && n.GetRawInput() != "" {
		return n.GetRawInput()
	}
	var buf [32]byte
	b := append(buf[:0], '+')
	b = strconv.AppendInt(b, int64(n.GetCountryCode()), 10)
	if n.GetItalianLeadingZero() && n.GetNumberOfLeadingZeros() > 0 {
		b = append(b, phonenumbers.GetNationalSignificantNumber(n)...)
	} else {
		b = strconv.AppendUint(b, n.GetNationalNumber(), 10)
	}
	return string(b)
}

// parsePhone is phonenumbers.Parse with a shortcut for the commonest
// numbers. phonenumbers.Parse costs 20–25 µs (its extension and viability
// patterns are large regular expressions), most of the time of parsing a
// whole booking request. A North American number written "+1 503 555 0142"
// (or, in the US and Canada, "(503) 555-0142"), only digits and the
// separators findPhone accepts, needs none of that: it has no extension,
// no international or national prefix to strip, and Parse gives country
// code 1 and the ten digits. TestParsePhoneShortcut checks it gives
// exactly what Parse gives.
func parsePhone(s, region string) (*phonenumbers.PhoneNumber, error) {
	if nsn, ok := nanpDigits(s, region); ok {
		cc, nn := int32(1), nsn
		return &phonenumbers.PhoneNumber{CountryCode: &cc, NationalNumber: &nn}, nil
	}
	if n, ok := intlNumber(s); ok {
		return n, nil
	}
	return phonenumbers.Parse(s, region)
}

// intlNumber is phonenumbers.Parse(s, any region) for a number written
// with its country code: "+", then digits and the separators findPhone
// accepts (spaces, "().-", en dashes), ending in a digit. Parse spends
// 25–55 µs on one, two thirds of it searching for an extension, which such
// a number cannot hold (every way of writing one needs a letter or one of
// "#,;~"). What Parse then does with it is short: the first 1 to 3 digits
// that phonenumbers knows as a country code are the country code, the
// rest the national number, and a national prefix is stripped from that
// only if the country's prefix pattern matches its start. A number whose
// prefix pattern matches, or that Parse would refuse, takes Parse's way.
// TestIntlNumberMatchesParse checks it against Parse for every country.
func intlNumber(s string) (*phonenumbers.PhoneNumber, bool) {
	if len(s) < 2 || len(s) > 250 || s[0] != '+' || s[len(s)-1] < '0' || s[len(s)-1] > '9' {
		return nil, false
	}
	var buf [20]byte
	digits := buf[:0]
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if len(digits) == len(buf) {
				return nil, false
			}
			digits = append(digits, c)
		case c == ' ' || c == '(' || c == ')' || c == '.' || c == '-':
		case strings.HasPrefix(s[i:], "–"):
			i += len("–") - 1
		default:
			return nil, false
		}
	}
	if len(digits) < 3 || digits[0] == '0' {
		return nil, false
	}
	for n := 1; n <= 3 && n < len(digits); n++ {
		cc, _ := strconv.Atoi(string(digits[:n]))
		regions := phonenumbers.GetRegionCodesForCountryCode(cc)
		if len(regions) == 0 {
			continue
		}
		national := digits[n:]
		prefix, ok := nationalPrefixes().forCountry(cc, regions[0])
		if !ok || len(national) < 2 || len(national) > 17 || prefix != nil && prefix.Match(national) {
			return nil, false
		}
		nn, err := strconv.ParseUint(string(national), 10, 64)
		if err != nil {
			return nil, false
		}
		cc32 := int32(cc)
		num := &phonenumbers.PhoneNumber{CountryCode: &cc32, NationalNumber: &nn}
		if national[0] == '0' {
			// Parse's setItalianLeadingZerosForPhoneNumber: the zeros
			// before the last digit.
			yes, zeros := true, 1
			for zeros < len(national)-1 && national[zeros] == '0' {
				zeros++
			}
			num.ItalianLeadingZero = &yes
			if zeros != 1 {
				z := int32(zeros)
				num.NumberOfLeadingZeros = &z
			}
		}
		return num, true
	}
	return nil, false
}

// prefixPatterns holds each country's national-prefix-for-parsing pattern,
// anchored at the start as phonenumbers anchors it, compiled once; nil for
// a country without one.
type prefixPatterns struct {
	byRegion map[string]*regexp.Regexp
	nonGeo   map[int]*regexp.Regexp // country codes of region "001"
}

var nationalPrefixes = sync.OnceValue(func() prefixPatterns {
	pp := prefixPatterns{byRegion: map[string]*regexp.Regexp{}, nonGeo: map[int]*regexp.Regexp{}}
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return pp
	}
	for _, md := range coll.GetMetadata() {
		var re *regexp.Regexp
		if p := md.GetNationalPrefixForParsing(); p != "" {
			re = regexp.MustCompile("^(?:" + p + ")")
		}
		if md.GetId() == "001" {
			pp.nonGeo[int(md.GetCountryCode())] = re
		} else {
			pp.byRegion[md.GetId()] = re
		}
	}
	return pp
})

// forCountry returns the prefix pattern Parse uses for a number of country
// code cc, whose main region is region; false if phonenumbers has no
// metadata for it.
func (pp prefixPatterns) forCountry(cc int, region string) (*regexp.Regexp, bool) {
	if region == "001" {
		re, ok := pp.nonGeo[cc]
		return re, ok
	}
	re, ok := pp.byRegion[region]
	return re, ok
}

// nanpDigits returns the national number of a North American number
// written with a leading +1, or in the US and Canada without it: ten
// digits, the first 2–9, separated only by spaces, ().- or en dashes.
func nanpDigits(s, region string) (uint64, bool) {
	plus := strings.HasPrefix(s, "+")
	if plus {
		s = s[1:]
	} else if region != "US" && region != "CA" {
		return 0, false
	}
	var n uint64
	digits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
			if digits > 11 {
				return 0, false
			}
			if plus && digits == 1 {
				if c != '1' {
					return 0, false
				}
				continue // the country code
			}
			if n == 0 && c < '2' {
				return 0, false // no area code starts with 0 or 1
			}
			n = n*10 + uint64(c-'0')
		case c == ' ' || c == '(' || c == ')' || c == '.' || c == '-':
		case strings.HasPrefix(s[i:], "–"):
			i += len("–") - 1
		default:
			return 0, false // a tab, for one, makes Parse refuse the number
		}
	}
	want := 10
	if plus {
		want = 11
	}
	return n, digits == want
}

// isValidPhone is phonenumbers.IsValidNumber with each region's patterns
// compiled once. IsValidNumber builds every pattern's string again, and
// looks it up in a cache by that string, on every call (5–9 µs a number):
// it finds the number's region among those of its country code (by the
// region's leading digits, or failing those by its number types), then
// tests the number against that region's general pattern and its types.
// This does the same with phoneRules. TestParsePhoneShortcut and
// TestIsValidPhoneMatchesPhonenumbers check it against IsValidNumber.
func isValidPhone(n *phonenumbers.PhoneNumber) bool {
	return isValidNSN(int(n.GetCountryCode()), nationalSignificantNumber(n))
}

// isValidNSN is isValidPhone of the number of country code cc whose
// national significant number is nsn.
func isValidNSN(cc int, nsn string) bool {
	regions := phonenumbers.GetRegionCodesForCountryCode(cc)
	var rules *phoneRules
	valid := false // known to be valid for the region found
	if len(regions) == 1 {
		rules = rulesFor(cc, regions[0])
	} else {
		for _, region := range regions {
			r := rulesFor(cc, region)
			if r == nil {
				continue
			}
			if r.leading != nil {
				if r.leading.MatchString(nsn) {
					rules = r
					break
				}
			} else if r.valid(nsn) {
				rules, valid = r, true
				break
			}
		}
	}
	if rules == nil || rules.region != "001" && int(rules.countryCode) != cc {
		return false
	}
	return valid || rules.valid(nsn)
}

// nationalSignificantNumber is phonenumbers.GetNationalSignificantNumber,
// without its builder for a number with no leading zeros (nearly all).
func nationalSignificantNumber(n *phonenumbers.PhoneNumber) string {
	if n.GetItalianLeadingZero() && n.GetNumberOfLeadingZeros() > 0 {
		return phonenumbers.GetNationalSignificantNumber(n)
	}
	return strconv.FormatUint(n.GetNationalNumber(), 10)
}

// phoneDesc is one number type of a region: its possible lengths and its
// pattern, anchored as phonenumbers anchors it, and the same pattern as a
// digitDFA when it can be one.
type phoneDesc struct {
	lengths []int32
	re      *regexp.Regexp
	dfa     *digitDFA
}

func newPhoneDesc(d *phonenumbers.PhoneNumberDesc) phoneDesc {
	if d == nil {
		return phoneDesc{}
	}
	p := d.GetNationalNumberPattern()
	return phoneDesc{lengths: d.GetPossibleLength(), re: regexp.MustCompile("^(?:" + p + ")$"), dfa: newDigitDFA(p)}
}

// matches is phonenumbers' isNumberMatchingDesc.
func (d phoneDesc) matches(nsn string) bool {
	if d.re == nil {
		return false // no such type in the region
	}
	if len(d.lengths) > 0 && !slices.Contains(d.lengths, int32(len(nsn))) {
		return false
	}
	if d.dfa != nil {
		if m, ok := d.dfa.match(nsn); ok {
			return m
		}
	}
	return d.re.MatchString(nsn)
}

// digitDFA is a deterministic automaton over the digits 0-9 accepting
// exactly the digit strings a regular expression matches whole (as
// "^(?:pattern)$"). Go's regexp runs phonenumbers' long patterns (661
// bytes for US fixed lines) with its backtracker, a microsecond or more per
// number and pattern; a national number is digits only, so its match is
// one table step a digit. newDigitDFA builds the automaton by subset
// construction from the regexp's own compiled program.
// TestDigitDFAMatchesRegexp checks it for every pattern of every region.
type digitDFA struct {
	next   [][10]int32 // next[state][digit]; -1: no match can follow
	accept []bool
}

// maxDFAStates bounds an automaton; a pattern needing more keeps its regexp.
const maxDFAStates = 4096

// newDigitDFA returns pattern's digitDFA, or nil if it has none: it does
// not parse, needs more than maxDFAStates states, or uses an assertion
// (^, $, \b…), which this construction does not read.
func newDigitDFA(pattern string) *digitDFA {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil
	}
	// A state is the sorted set of instructions the program may be at.
	// closure adds pc and those reachable from it without reading a rune
	// to set (seen marks them, by generation); false if an assertion is
	// among them.
	seen := make([]int, len(prog.Inst))
	gen := 0
	var closure func(set []uint32, pc uint32) ([]uint32, bool)
	closure = func(set []uint32, pc uint32) ([]uint32, bool) {
		if seen[pc] == gen {
			return set, true
		}
		seen[pc] = gen
		set = append(set, pc)
		inst := &prog.Inst[pc]
		switch inst.Op {
		case syntax.InstAlt, syntax.InstAltMatch:
			set, ok := closure(set, inst.Out)
			if !ok {
				return nil, false
			}
			return closure(set, inst.Arg)
		case syntax.InstCapture, syntax.InstNop:
			return closure(set, inst.Out)
		case syntax.InstEmptyWidth:
			return nil, false
		}
		return set, true // a rune, a match, a failure
	}
	a := &digitDFA{}
	ids := map[string]int32{}
	var sets [][]uint32
	var keyBuf []byte
	add := func(set []uint32) int32 {
		slices.Sort(set)
		keyBuf = keyBuf[:0]
		for _, pc := range set {
			keyBuf = binary.LittleEndian.AppendUint32(keyBuf, pc)
		}
		if id, ok := ids[string(keyBuf)]; ok {
			return id
		}
		id := int32(len(sets))
		ids[string(keyBuf)] = id
		sets = append(sets, set)
		accept := false
		for _, pc := range set {
			accept = accept || prog.Inst[pc].Op == syntax.InstMatch
		}
		a.next = append(a.next, [10]int32{})
		a.accept = append(a.accept, accept)
		return id
	}
	gen++
	start, ok := closure(nil, uint32(prog.Start))
	if !ok {
		return nil
	}
	add(start)
	for s := 0; s < len(sets); s++ {
		if len(sets) > maxDFAStates {
			return nil
		}
		for d := 0; d < 10; d++ {
			gen++
			var next []uint32
			for _, pc := range sets[s] {
				inst := &prog.Inst[pc]
				switch inst.Op {
				case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
					if inst.MatchRune(rune('0' + d)) {
						if next, ok = closure(next, inst.Out); !ok {
							return nil
						}
					}
				}
			}
			if len(next) == 0 {
				a.next[s][d] = -1
				continue
			}
			a.next[s][d] = add(next)
		}
	}
	return a
}

// match reports whether the automaton accepts s; ok is false if s is not
// all digits.
func (a *digitDFA) match(s string) (matched, ok bool) {
	state := int32(0)
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return false, false
		}
		if state = a.next[state][c]; state < 0 {
			return false, true
		}
	}
	return a.accept[state], true
}

// phoneRules are one region's patterns, compiled.
type phoneRules struct {
	region      string
	countryCode int32
	leading     *regexp.Regexp // the region's leading digits, if it has them
	general     phoneDesc
	types       []phoneDesc
}

// valid is phonenumbers' getNumberTypeHelper(nsn, region) != UNKNOWN:
// nsn matches the general pattern and that of a number type.
func (r *phoneRules) valid(nsn string) bool {
	if !r.general.matches(nsn) {
		return false
	}
	for _, d := range r.types {
		if d.matches(nsn) {
			return true
		}
	}
	return false
}

var phoneMetadata = sync.OnceValue(func() map[string]*phonenumbers.PhoneMetadata {
	m := map[string]*phonenumbers.PhoneMetadata{}
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return m
	}
	for _, md := range coll.GetMetadata() {
		m[rulesKey(int(md.GetCountryCode()), md.GetId())] = md
	}
	return m
})

// rulesKey names a region's metadata: its code, or for the
// non-geographical "001" entities, the country code too.
func rulesKey(cc int, region string) string {
	if region == "001" {
		return "001/" + strconv.Itoa(cc)
	}
	return region
}

var phoneRulesCache sync.Map // rulesKey → *phoneRules

// rulesFor returns region's patterns, compiled the first time they are
// needed; nil if phonenumbers has no metadata for it.
func rulesFor(cc int, region string) *phoneRules {
	key := rulesKey(cc, region)
	if r, ok := phoneRulesCache.Load(key); ok {
		return r.(*phoneRules)
	}
	md := phoneMetadata()[key]
	if md == nil {
		return nil
	}
	desc := newPhoneDesc
	r := &phoneRules{region: region, countryCode: md.GetCountryCode(), general: desc(md.GetGeneralDesc())}
	if ld := md.GetLeadingDigits(); ld != "" {
		r.leading = regexp.MustCompile("^(?:" + ld + ")")
	}
	for _, d := range []*phonenumbers.PhoneNumberDesc{md.GetPremiumRate(), md.GetTollFree(), md.GetSharedCost(),
		md.GetVoip(), md.GetPersonalNumber(), md.GetPager(), md.GetUan(), md.GetVoicemail(), md.GetFixedLine()} {
		r.types = append(r.types, desc(d))
	}
	if !md.GetSameMobileAndFixedLinePattern() {
		r.types = append(r.types, desc(md.GetMobile()))
	}
	got, _ := phoneRulesCache.LoadOrStore(key, r)
	return got.(*phoneRules)
}

// NormalizePhone returns the phone number in E.164 form (+15551234567) when
// it can be read as a valid number for region, else its digits only.
func NormalizePhone(s, region string) string {
	if region == "" {
		region = "US"
	}
	if e, ok := normalizePhone(s, strings.ToUpper(region)); ok {
		return e
	}
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// forwardedAddress is parseAddress(v): the sender in a forward's "From:"
// line. net/mail.ParseAddress, which parseAddress starts with, makes a
// dozen strings and errors for a plain "Name <address>"; simpleAddress
// reads those without a copy, as net/mail reads them (it compares its
// reading with go-message's, which is net/mail's with more charsets, and
// a value with no encoded word needs no charset). Other values take
// parseAddress's way. TestForwardedAddressMatchesParseAddress checks it.
func forwardedAddress(v string) (name, addr string) {
	if !strings.Contains(v, "=?") {
		if n, a, ok := simpleAddress(strings.TrimSpace(v)); ok {
			return strings.TrimSpace(n), strings.ToLower(a)
		}
	}
	return parseAddress(v)
}

// forwardedBlock is the original message inside a forward.
type forwardedBlock struct {
	name, email string
	body        string
}

var forwardMarker = regexp.MustCompile(`(?im)^[ \t>]*(?:-{2,}\s*(?:forwarded message|mensaje reenviado|message transféré|пересылаемое сообщение|转发的邮件|weitergeleitete nachricht)\s*-{2,}|begin forwarded message:|-{2,}\s*original message\s*-{2,}|-{2,} перенаправленное сообщение -{2,})[ \t]*$`)

var forwardTriggers = byteWords("forward", "reenviado", "transféré", "пересыла", "перенаправ", "转发", "weitergeleitet", "original message")

var forwardSubject = regexp.MustCompile(`(?i)^\s*(?:fwd?|fw|rv|tr|wg|пересл|转发)\s*:`)

// forwardMarkerAt is forwardMarker anchored at the start of the text.
var forwardMarkerAt = regexp.MustCompile(`^(?:` + forwardMarker.String() + `)`)

// findForwardMarker is forwardMarker.FindStringIndex(text), sooner. The
// pattern starts with (?m)^ and no literal, so the regexp engine tries it
// at every byte of the text (a forward's 300 bytes cost more than the
// rest of findForwarded). A match starts at a line start only, and after
// the quote marks and blanks ([ \t>]*) it reads "-" or "b"/"B" ("begin
// forwarded message:"; no other letter folds to "b"). So only the lines
// that do are tried, in order, with the pattern anchored at their start:
// the first match is the pattern's leftmost one, and it reads the same
// text after it (\s* may cross lines, $ is the same end of text).
// TestFindForwardMarkerMatchesRegexp checks it.
func findForwardMarker(text string) []int {
	for start := 0; start < len(text); {
		i := start
		for i < len(text) && (text[i] == ' ' || text[i] == '\t' || text[i] == '>') {
			i++
		}
		if i < len(text) && (text[i] == '-' || text[i]|0x20 == 'b') {
			if loc := forwardMarkerAt.FindStringIndex(text[start:]); loc != nil {
				loc[0], loc[1] = start+loc[0], start+loc[1] // in text, in place
				return loc
			}
		}
		nl := strings.IndexByte(text[start:], '\n')
		if nl < 0 {
			break
		}
		start += nl + 1
	}
	return nil
}

// findForwarded finds a forwarded original in text and its sender.
// lower is text lower-cased.
func findForwarded(text string, lower []byte, subject string) (forwardedBlock, bool) {
	// forwardMarker matches only a line of dashes around words, or "Begin
	// forwarded message:" ("forwarded" has no letter with a case variant
	// outside ASCII): a text with neither "--" nor "forwarded" has none,
	// and two searches rule that out sooner than the triggers' eight.
	if !strings.Contains(text, "--") && !bytes.Contains(lower, []byte("forwarded")) {
		return forwardedBlock{}, false
	}
	if !containsAnyBytes(lower, forwardTriggers) {
		return forwardedBlock{}, false
	}
	loc := findForwardMarker(text)
	if loc == nil {
		return forwardedBlock{}, false
	}
	marker := strings.ToLower(text[loc[0]:loc[1]])
	if strings.Contains(marker, "original message") && !forwardSubject.MatchString(subject) {
		return forwardedBlock{}, false // a reply's quoted history, not a forward
	}
	rest := strings.TrimLeft(text[loc[1]:], "\r\n")
	lines := strings.Split(rest, "\n")
	var fb forwardedBlock
	i := 0
	for ; i < len(lines) && i < 30; i++ {
		line := strings.TrimSpace(strings.TrimLeft(lines[i], "> "))
		if line == "" {
			if fb.email != "" || fb.name != "" {
				i++
				break
			}
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			break
		}
		// The key lower-cased on the stack, not copied: strings.ToLower
		// made a string of every capitalised key ("From", "Date").
		var keyBuf [64]byte
		switch string(appendLower(keyBuf[:0], strings.TrimSpace(k))) {
		case "from", "de", "von", "от", "发件人", "từ", "expéditeur":
			fb.name, fb.email = forwardedAddress(v)
		}
	}
	if i > len(lines) {
		i = len(lines)
	}
	// The body's lines, each without a "> " quote mark, joined in one
	// string (collecting them in a growing slice cost an allocation
	// every time it doubled). They are rest's lines, shortened.
	if i < len(lines) {
		var b strings.Builder
		b.Grow(len(rest))
		for j, l := range lines[i:] {
			if j > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(strings.TrimPrefix(strings.TrimPrefix(l, ">"), " "))
		}
		fb.body = b.String()
	}
	return fb, fb.email != "" || fb.name != ""
}

var replyAttribution = regexp.MustCompile(`(?i)^(?:on .{4,200}wrote:|el .{4,200}escribió:|le .{4,200}a écrit\s?:|am .{4,200}schrieb:|vào .{4,200}đã viết:|.{4,200}пишет:|-{2,}\s*original message\s*-{2,}|_{10,}|-{2,}\s*mensaje original\s*-{2,})\s*$`)

// attributionWords end replyAttribution's "… wrote:" lines, lower-cased.
var attributionWords = []string{"wrote", "escribió", "écrit", "schrieb", "viết", "пишет"}

// mayBeAttribution is a cheap test that replyAttribution may match t (a
// trimmed line): it ends with a colon ("On … wrote:"), or is a line of
// underscores, or a dashed "original message" line. MIME boundaries and
// signature separators ("--b12--", "-- ") are not.
func mayBeAttribution(t string) bool {
	switch {
	case strings.HasSuffix(t, ":"):
		// "… wrote:" and its translations: not every "Label:" line.
		tail := t
		if len(tail) > 32 {
			tail = tail[len(tail)-32:]
		}
		// Lower-cased on the stack: strings.ToLower made a copy of every
		// "Label:" line's tail (appendLower is strings.ToLower).
		var buf [4 * 32]byte
		lower := bytes.TrimRight(bytes.TrimSuffix(appendLower(buf[:0], tail), []byte(":")), " \t\n\f\r")
		for _, w := range attributionWords {
			if bytes.HasSuffix(lower, []byte(w)) {
				return true
			}
		}
		return false
	case strings.HasPrefix(t, "__"):
		return true
	case strings.HasPrefix(t, "--"):
		return strings.Contains(strings.ToLower(t), "original")
	}
	return false
}

// isReplyAttribution is replyAttribution.MatchString(t). The commonest attribution, "On … wrote:", is
// read by hand: the regexp backtracks through ".{4,200}" and every other
// alternative (40 µs for a Gmail attribution line). A line ending in
// "wrote:" can only match the first alternative: "on ", then 4 to 200
// characters other than a line break, then "wrote:" (no letter of these
// words has a case variant outside ASCII). Other lines take the regexp.
// TestIsReplyAttributionMatchesRegexp checks them against each other.
func isReplyAttribution(t string) bool {
	const on, wrote = "on ", "wrote:"
	if !hasSuffixFold(t, wrote) {
		return replyAttribution.MatchString(t)
	}
	if len(t) < len(on)+len(wrote) || !hasPrefixFold(t, on) {
		return false
	}
	middle := t[len(on) : len(t)-len(wrote)]
	n := utf8.RuneCountInString(middle)
	return n >= 4 && n <= 200 && strings.IndexByte(middle, '\n') < 0
}

// hasPrefixFold is strings.HasPrefix ignoring ASCII case; prefix is
// lower-case ASCII.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// hasSuffixFold is strings.HasSuffix ignoring ASCII case; suffix is
// lower-case ASCII.
func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// stripQuotedLines removes quoted reply history from text, already split
// into lines: lines starting with ">" and everything after an "On …
// wrote:" attribution. It returns the text left and its lines (those of
// lines kept, a prefix of lines or a fresh slice).
func stripQuotedLines(text string, lines []string) (kept string, _ []string) {
	var out []string // the lines kept, once one is not
	cut := false
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if len(t) < maxLineScan && mayBeAttribution(t) && isReplyAttribution(t) {
			if !cut {
				out = lines[:i]
			}
			cut = true
			break
		}
		// "On Mon, … <x@y>" wrapped over two lines before "wrote:".
		if i+1 < len(lines) && hasPrefixFold(t, "on ") && hasSuffixFold(strings.TrimSpace(lines[i+1]), "wrote:") {
			if !cut {
				out = lines[:i]
			}
			cut = true
			break
		}
		if strings.HasPrefix(t, ">") {
			if !cut {
				out = append(make([]string, 0, len(lines)), lines[:i]...)
			}
			cut = true
			continue
		}
		if cut {
			out = append(out, l)
		}
	}
	if !cut {
		return text, lines // nothing quoted: the same text, without joining it again
	}
	if len(out) == 0 {
		return "", []string{""}
	}
	return strings.Join(out, "\n"), out // no line holds a "\n"
}

// splitLines is strings.Split(s, "\n"), into buf: ParseRequest splits
// every text into lines (stripQuotedLines), a slice of thousands of strings the
// garbage collector must scan, thrown away once the text is read.
// TestSplitLinesMatchesSplit checks it.
func splitLines(buf []string, s string) []string {
	buf = buf[:0]
	for {
		m := strings.IndexByte(s, '\n')
		if m < 0 {
			return append(buf, s)
		}
		buf = append(buf, s[:m])
		s = s[m+1:]
	}
}

// linesPool holds line slices for splitLines across messages; one grown
// past maxPooledLines by a huge text is not kept.
var linesPool = sync.Pool{New: func() any { b := make([]string, 0, 256); return &b }}

const maxPooledLines = 8 << 10

// Dates.

var months = map[string]time.Month{}

func init() {
	names := [][]string{
		{"january", "jan", "enero", "ene", "janvier", "январь", "января"},
		{"february", "feb", "febrero", "février", "февраль", "февраля"},
		{"march", "mar", "marzo", "mars", "март", "марта"},
		{"april", "apr", "abril", "abr", "avril", "апрель", "апреля"},
		{"may", "mayo", "mai", "май", "мая"},
		{"june", "jun", "junio", "juin", "июнь", "июня"},
		{"july", "jul", "julio", "juillet", "июль", "июля"},
		{"august", "aug", "agosto", "ago", "août", "август", "августа"},
		{"september", "sep", "sept", "septiembre", "septembre", "сентябрь", "сентября"},
		{"october", "oct", "octubre", "octobre", "октябрь", "октября"},
		{"november", "nov", "noviembre", "novembre", "ноябрь", "ноября"},
		{"december", "dec", "diciembre", "dic", "décembre", "декабрь", "декабря"},
	}
	for i, ns := range names {
		for _, n := range ns {
			months[n] = time.Month(i + 1)
		}
	}
}

var (
	isoDate     = regexp.MustCompile(`\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b`)
	numericDate = regexp.MustCompile(`\b(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})\b`)
	monthFirst  = regexp.MustCompile(`(?i)\b(\p{L}{3,10})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b`)
	dayFirst    = regexp.MustCompile(`(?i)\b(\d{1,2})(?:st|nd|rd|th)?\.?\s+(?:de\s+)?(\p{L}{3,10})\.?,?\s+(?:de\s+)?(\d{4})\b`)
	hanDate     = regexp.MustCompile(`(\d{4})年(\d{1,2})月(\d{1,2})日`)
	clockTime   = regexp.MustCompile(`(?i)\b(\d{1,2})(?:[:.h](\d{2}))?\s*([ap])\.?\s?m\.?(?:\W|$)|\b(\d{1,2})[:h](\d{2})\b|(\d{1,2})[:点时](\d{2})?`)
)

// findDate finds a calendar date in s. Numeric dates are read month first
// in the US and Canada, day first elsewhere.
func findDate(s, region string) (time.Time, bool) {
	mk := func(y, m, d int) (time.Time, bool) {
		if y < 100 {
			if y > 30 {
				y += 1900
			} else {
				y += 2000
			}
		}
		if m < 1 || m > 12 || d < 1 || d > 31 || y < 1900 || y > 2200 {
			return time.Time{}, false
		}
		t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
		if t.Day() != d {
			return time.Time{}, false
		}
		return t, true
	}
	atoi := func(v string) int { n, _ := strconv.Atoi(v); return n }
	// Only the patterns that can match are run (see datePatternsMayMatch).
	han, iso, year, numeric := datePatternsMayMatch(s)
	if han {
		if m := hanDate.FindStringSubmatch(s); m != nil {
			return mk(atoi(m[1]), atoi(m[2]), atoi(m[3]))
		}
	}
	if iso {
		if m := isoDateAt.find(s); m != nil {
			return mk(atoi(m[1]), atoi(m[2]), atoi(m[3]))
		}
	}
	if year && mayHoldMonthName(s) {
		if m := monthFirstAt.find(s); m != nil {
			if mon, ok := months[strings.ToLower(m[1])]; ok {
				return mk(atoi(m[3]), int(mon), atoi(m[2]))
			}
		}
		if m := dayFirstAt.find(s); m != nil {
			if mon, ok := months[strings.ToLower(m[2])]; ok {
				return mk(atoi(m[3]), int(mon), atoi(m[1]))
			}
		}
	}
	if !numeric {
		return time.Time{}, false
	}
	if m := numericDateAt.find(s); m != nil {
		a, b, y := atoi(m[1]), atoi(m[2]), atoi(m[3])
		// 05.09.1970 is day first everywhere; 05/09/1970 depends on region.
		monthFirstRegion := (region == "US" || region == "CA" || region == "PH") && !strings.Contains(m[0], ".")
		if a > 12 {
			monthFirstRegion = false
		} else if b > 12 {
			monthFirstRegion = true
		}
		if monthFirstRegion {
			return mk(y, a, b)
		}
		return mk(y, b, a)
	}
	return time.Time{}, false
}

// datePatternsMayMatch is a cheap test of which date patterns may match s
// (each regexp scans the whole text, trying every position): hanDate needs
// four digits and "年", isoDate four digits and one of "-/.", monthFirst and
// dayFirst four digits, numericDate a digit and one of "/.-" and a digit.
// (\d is ASCII in Go's regexps, even case-insensitive.) A pattern it rules
// out cannot match; TestDatePatternsMayMatch checks that on generated text.
func datePatternsMayMatch(s string) (han, iso, year, numeric bool) {
	run := 0 // ASCII digits just before s[i]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			run++
			if run >= 4 {
				year = true
			}
			continue
		}
		if run > 0 && (c == '-' || c == '/' || c == '.') {
			if run >= 4 {
				iso = true
			}
			if i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
				numeric = true
			}
		}
		run = 0
	}
	han = year && strings.Contains(s, "年")
	return han, iso, year, numeric
}

// mayHoldMonthName reports whether s has three bytes in a row that are
// each an ASCII letter or part of a non-ASCII character: monthFirst and
// dayFirst need three letters in a row (\p{L}{3,10}), so they cannot match
// a text without (a numeric date, "05.09.1970", would otherwise run both
// over all of it). TestDatePatternsMayMatch checks it.
func mayHoldMonthName(s string) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 || isASCIILetter(c) {
			if run++; run == 3 {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

// findClock finds a time of day in s.
func findClock(s string) (hour, minute int, ok bool) {
	// Blank out dates so their numbers are not read as times. A pattern
	// that cannot match would leave s as it is.
	if _, iso, _, _ := datePatternsMayMatch(s); iso {
		s = replaceDates(s, isoDateAt)
	}
	if _, _, _, numeric := datePatternsMayMatch(s); numeric {
		s = replaceDates(s, numericDateAt)
	}
	if han, _, _, _ := datePatternsMayMatch(s); han {
		s = hanDate.ReplaceAllString(s, " ")
	}
	m := findClockTime(s)
	if m == nil {
		return 0, 0, false
	}
	atoi := func(v string) int { n, _ := strconv.Atoi(v); return n }
	switch {
	case m[1] != "":
		hour, minute = atoi(m[1]), atoi(m[2])
		if hour < 1 || hour > 12 {
			return 0, 0, false
		}
		if strings.EqualFold(m[3], "p") && hour != 12 {
			hour += 12
		} else if strings.EqualFold(m[3], "a") && hour == 12 {
			hour = 0
		}
	case m[4] != "":
		hour, minute = atoi(m[4]), atoi(m[5])
	default:
		hour, minute = atoi(m[6]), atoi(m[7])
		if strings.Contains(s, "下午") && hour < 12 {
			hour += 12
		}
	}
	if hour > 23 || minute > 59 {
		return 0, 0, false
	}
	return hour, minute, true
}

// findClockTime is clockTime.FindStringSubmatch(s), without the regexp.
// The pattern has three alternatives, each starting at an ASCII digit, and
// the regexp engine cost 14,000 instructions a call on a 7-to-35-byte
// requested time (1.8% of BenchmarkParseRequest's instructions). At each
// digit in turn, the alternatives are tried in the pattern's order, and in
// each its choices in the order the pattern prefers them (two digits before
// one, an optional part before none), so the first match is the one the
// regexp returns, with the same submatches. Under (?i) the letters
// ("h", "a", "p", "m") fold only to their ASCII capitals, and \W matches
// neither "ſ" nor "\u212a" (they fold to word letters).
// TestFindClockTimeMatchesRegexp checks it.
func findClockTime(s string) []string {
	for p := 0; p < len(s); p++ {
		if !isASCIIDigit(s[p]) {
			continue
		}
		if m := clockAt(s, p); m != nil {
			return m
		}
	}
	return nil
}

// clockAt returns clockTime's submatches for a match starting at s[p], a
// digit, or nil. Unmatched groups are "", as FindStringSubmatch gives them.
func clockAt(s string, p int) []string {
	boundary := p == 0 || !isWordByte(s[p-1]) // s[p] is a word byte
	// The hour: two digits if there are, else one.
	hourEnds := []int{p + 1}
	if p+1 < len(s) && isASCIIDigit(s[p+1]) {
		hourEnds = []int{p + 2, p + 1}
	}
	if boundary {
		// \b(\d{1,2})(?:[:.h](\d{2}))?\s*([ap])\.?\s?m\.?(?:\W|$)
		for _, h := range hourEnds {
			for _, withMinutes := range []bool{true, false} {
				i, min := h, ""
				if withMinutes {
					if i+2 >= len(s) || !(s[i] == ':' || s[i] == '.' || s[i]|0x20 == 'h') ||
						!isASCIIDigit(s[i+1]) || !isASCIIDigit(s[i+2]) {
						continue
					}
					min, i = s[i+1:i+3], i+3
				}
				for i < len(s) && isRegexpSpace(s[i]) {
					i++
				}
				if i >= len(s) || s[i]|0x20 != 'a' && s[i]|0x20 != 'p' {
					continue
				}
				ap := i
				if end, ok := clockMeridiem(s, ap+1); ok {
					return []string{s[p:end], s[p:h], min, s[ap : ap+1], "", "", "", ""}
				}
			}
		}
		// \b(\d{1,2})[:h](\d{2})\b
		for _, h := range hourEnds {
			if h+2 < len(s) && (s[h] == ':' || s[h]|0x20 == 'h') && isASCIIDigit(s[h+1]) && isASCIIDigit(s[h+2]) &&
				(h+3 == len(s) || !isWordByte(s[h+3])) {
				return []string{s[p : h+3], "", "", "", s[p:h], s[h+1 : h+3], "", ""}
			}
		}
	}
	// (\d{1,2})[:点时](\d{2})?
	for _, h := range hourEnds {
		sep := 0
		switch {
		case h < len(s) && s[h] == ':':
			sep = 1
		case strings.HasPrefix(s[h:], "点") || strings.HasPrefix(s[h:], "时"):
			sep = len("点")
		default:
			continue
		}
		if i := h + sep; i+1 < len(s) && isASCIIDigit(s[i]) && isASCIIDigit(s[i+1]) {
			return []string{s[p : i+2], "", "", "", "", "", s[p:h], s[i : i+2]}
		}
		return []string{s[p : h+sep], "", "", "", "", "", s[p:h], ""}
	}
	return nil
}

// clockMeridiem matches clockTime's \.?\s?m\.?(?:\W|$) at s[i], the
// choices in the pattern's order, and returns where the match ends.
func clockMeridiem(s string, i int) (end int, ok bool) {
	for _, dot1 := range []bool{true, false} {
		j := i
		if dot1 {
			if j >= len(s) || s[j] != '.' {
				continue
			}
			j++
		}
		for _, space := range []bool{true, false} {
			k := j
			if space {
				if k >= len(s) || !isRegexpSpace(s[k]) {
					continue
				}
				k++
			}
			if k >= len(s) || s[k]|0x20 != 'm' {
				continue
			}
			k++
			for _, dot2 := range []bool{true, false} {
				e := k
				if dot2 {
					if e >= len(s) || s[e] != '.' {
						continue
					}
					e++
				}
				if e == len(s) {
					return e, true // $
				}
				// \W: one rune, not an ASCII word byte, "ſ" or the Kelvin sign.
				r, size := utf8.DecodeRuneInString(s[e:])
				if r < utf8.RuneSelf && !isWordByte(byte(r)) || r >= utf8.RuneSelf && r != 'ſ' && r != '\u212a' {
					return e + size, true
				}
			}
		}
	}
	return 0, false
}

func isASCIIDigit(c byte) bool { return c >= '0' && c <= '9' }

// startAnchored finds a regexp's leftmost match the way findRelativeDay
// does: the date and time patterns have no literal prefix, so the regexp
// engine tries every alternative at every byte of the text (findDate's
// were 0.57 s of 23 s in a BenchmarkParseRequest profile, on texts of 10
// to 40 bytes). Each of
// their matches starts at an ASCII digit or at a letter (starts), and
// where the pattern begins with \b in every alternative (boundary), only
// where a \b holds. Those places are tried in order with the pattern
// anchored, so the first match is the pattern's leftmost one. A \b at the
// start of the anchored text would not see the byte before it: where that
// byte is an ASCII word byte (the only bytes \b reads as word
// characters), the try starts one byte sooner, with a pattern that first
// reads that byte, and the match is cut after it. The patterns read
// nothing else before their match: no ^, $ or (?m).
// TestStartAnchoredMatchesRegexp checks each against its regexp.
type startAnchored struct {
	re        *regexp.Regexp
	at        *regexp.Regexp // ^(?:re)
	afterWord *regexp.Regexp // ^[0-9A-Za-z_](?:re)
	letters   bool           // a match may start at a letter, not only at a digit
	boundary  bool           // every match starts where \b holds
	// mayStart, if set, is a cheap test that the pattern may match at the
	// start of a text: where it is false, the try is skipped.
	mayStart func(string) bool
	// match, if set, is the pattern anchored at the start of a text that
	// starts where \b holds, written out: it is used instead of the regexp.
	match func(string) []string
}

func newStartAnchored(re *regexp.Regexp, letters, boundary bool) *startAnchored {
	return &startAnchored{re: re, letters: letters, boundary: boundary,
		at:        regexp.MustCompile(`^(?:` + re.String() + `)`),
		afterWord: regexp.MustCompile(`^[0-9A-Za-z_](?:` + re.String() + `)`)}
}

var (
	isoDateAt     = newStartAnchored(isoDate, false, true).withMatch(matchISODate)
	numericDateAt = newStartAnchored(numericDate, false, true).withMatch(matchNumericDate)
	monthFirstAt  = newStartAnchored(monthFirst, true, true).withMayStart(monthNameMayStart)
	dayFirstAt    = newStartAnchored(dayFirst, false, true).withMayStart(dayFirstMayStart)
)

// matchISODate and matchNumericDate are isoDate and numericDate anchored
// at the start of s, as FindStringSubmatch gives them, without the regexp
// (a run cost 5,000 instructions; findDate and findClock run them on every
// form's requested date). Neither pattern has (?i) or a non-ASCII class.
// Each \d{n,m} cannot stop inside a run of digits (what follows it is a
// separator or \b, which does not hold between two digits), so each run
// of digits is as long as the pattern takes, and the year of numericDate,
// (\d{4}|\d{2}), is a run of four or of two. The \b at the start is
// the caller's (startAnchored tries only where it holds).
// TestDateMatchersMatchRegexp checks both against their regexps.
func matchISODate(s string) []string {
	y, m, d, end, ok := threeRuns(s, "-/.")
	if !ok || len(y) != 4 || len(m) > 2 || len(d) > 2 {
		return nil
	}
	return []string{s[:end], y, m, d}
}

func matchNumericDate(s string) []string {
	d, m, y, end, ok := threeRuns(s, "/.-")
	if !ok || len(d) > 2 || len(m) > 2 || len(y) != 4 && len(y) != 2 {
		return nil
	}
	return []string{s[:end], d, m, y}
}

// threeRuns reads three runs of ASCII digits from the start of s, split
// by one byte of seps each, and where they end; ok is false if s does not
// start so, or if a word byte follows the last run (\b).
func threeRuns(s, seps string) (a, b, c string, end int, ok bool) {
	var runs [3]string
	i := 0
	for k := range runs {
		if k > 0 {
			if i >= len(s) || strings.IndexByte(seps, s[i]) < 0 {
				return "", "", "", 0, false
			}
			i++
		}
		n := digitRun(s[i:])
		if n == 0 {
			return "", "", "", 0, false
		}
		runs[k], i = s[i:i+n], i+n
	}
	if i < len(s) && isWordByte(s[i]) {
		return "", "", "", 0, false
	}
	return runs[0], runs[1], runs[2], i, true
}

// replaceDates is re.ReplaceAllString(s, " ") for isoDate or numericDate
// (a the startAnchored of re): each leftmost match, then the next one
// after it, is replaced by a space. TestDateMatchersMatchRegexp checks it.
func replaceDates(s string, a *startAnchored) string {
	var b []byte
	last := 0 // s[last:] is not yet copied to b
	for p := 0; p < len(s); p++ {
		if !isASCIIDigit(s[p]) || p > 0 && isWordByte(s[p-1]) {
			continue
		}
		if m := a.match(s[p:]); m != nil {
			b = append(b, s[last:p]...)
			b = append(b, ' ')
			last = p + len(m[0])
			p = last - 1
		}
	}
	if b == nil {
		return s
	}
	return string(append(b, s[last:]...))
}

// dayFirstMayStart reports whether dayFirst may match at the start of s
// (a digit where \b holds), so that a time's or phone number's digits are
// not tried: its day is a run of one or two digits, then "st", "nd", "rd"
// or "th" or not, an optional "." and \s. Under (?i) "s" also matches
// "ſ", so a non-ASCII byte after the digits is left to the pattern.
// TestMonthNameMayStart checks that it rules out no match.
func dayFirstMayStart(s string) bool {
	i := digitRun(s)
	if i < 1 || i > 2 {
		return false
	}
	if i+2 <= len(s) {
		switch a, b := s[i]|0x20, s[i+1]|0x20; {
		case a == 's' && b == 't', a == 'n' && b == 'd', a == 'r' && b == 'd', a == 't' && b == 'h':
			i += 2
		}
	}
	if i < len(s) && s[i] == '.' {
		i++
	}
	return i < len(s) && (isRegexpSpace(s[i]) || s[i] >= utf8.RuneSelf)
}

// digitRun returns how many ASCII digits s starts with.
func digitRun(s string) int {
	i := 0
	for i < len(s) && isASCIIDigit(s[i]) {
		i++
	}
	return i
}

// withMatch sets a's match and returns a.
func (a *startAnchored) withMatch(match func(string) []string) *startAnchored {
	a.match = match
	return a
}

// withMayStart sets a's mayStart and returns a.
func (a *startAnchored) withMayStart(may func(string) bool) *startAnchored {
	a.mayStart = may
	return a
}

// find is a.re.FindStringSubmatch(s).
func (a *startAnchored) find(s string) []string {
	for p := 0; p < len(s); {
		c := s[p]
		size := 1
		start := c >= '0' && c <= '9'
		if c >= utf8.RuneSelf {
			var r rune
			r, size = utf8.DecodeRuneInString(s[p:])
			// Under (?i), \p{L} also matches U+0345, the one rune that
			// is not a letter but folds to one ("ι").
			start = a.letters && (unicode.IsLetter(r) || r == '\u0345')
		} else if a.letters && isASCIILetter(c) {
			start = true
		}
		if !start {
			p += size
			continue
		}
		afterWord := p > 0 && isWordByte(s[p-1])
		if a.boundary && afterWord == (c < utf8.RuneSelf) {
			// No \b here: both sides are word bytes, or neither is (a
			// non-ASCII letter is not one).
			p += size
			continue
		}
		if a.mayStart != nil && !a.mayStart(s[p:]) {
			p += size
			continue
		}
		if afterWord {
			if m := a.afterWord.FindStringSubmatch(s[p-1:]); m != nil {
				m[0] = m[0][1:]
				return m
			}
		} else if a.match != nil {
			if m := a.match(s[p:]); m != nil {
				return m
			}
		} else if m := a.at.FindStringSubmatch(s[p:]); m != nil {
			return m
		}
		p += size
	}
	return nil
}

// monthNameMayStart reports whether monthFirst may match at the start of
// s. monthFirstAt tries every word (a date's line holds a few: "Tuesday,
// December 8, 2026 at 10:30 AM"), and each try costs a regexp run. A match
// starts with 3 to 10 letters, then an optional ".", then \s+ and a digit.
// \p{L}{3,10} cannot stop inside a run of letters (what follows it is "."
// or \s), so an ASCII run must be 3 to 10 letters long and be followed by
// exactly that. Under (?i), \p{L} also matches some non-letters that fold
// to letters (U+0345 folds to "ι"), so a run that reaches a non-ASCII byte
// is left to the pattern. TestMonthNameMayStart checks that the pattern
// matches no text this rules out.
func monthNameMayStart(s string) bool {
	i := 0
	for i < len(s) && isASCIILetter(s[i]) {
		i++
	}
	if i < len(s) && s[i] >= utf8.RuneSelf {
		return true
	}
	if i < 3 || i > 10 {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
	}
	sp := i
	for i < len(s) && isRegexpSpace(s[i]) {
		i++
	}
	return i > sp && i < len(s) && s[i] >= '0' && s[i] <= '9'
}

// parseRequested reads a requested date and time written by a form.
func parseRequested(s, region string, loc *time.Location) (time.Time, bool) {
	d, ok := findDate(s, region)
	if !ok {
		return time.Time{}, false
	}
	h, m, _ := findClock(s)
	return time.Date(d.Year(), d.Month(), d.Day(), h, m, 0, 0, loc), true
}

// decide chooses each field from what was found, and the source.
func (p *parser) decide(x extracted) {
	r := &p.req
	region := p.opts.DefaultRegion
	// The sender's domain is looked up once for each list: isAutomated
	// looked it up in both, and the source below again.
	fromScheduling, fromForm := isSchedulingService(r.From), isFormService(r.From)
	fromAutomated := r.From != "" && (isAutomatedLocal(localPart(r.From)) || fromScheduling || fromForm)
	replyToPatient := r.ReplyTo != "" && !p.isAutomated(r.ReplyTo) && !p.isOwn(r.ReplyTo)

	// Source.
	switch {
	case fromScheduling || (x.calendar && fromAutomated && x.labelCount > 0):
		r.Source = SourceScheduling
	case x.calendar:
		r.Source = SourceCalendar
	case fromForm || (fromAutomated && x.labelCount >= 1) ||
		(x.labelCount >= 2 && subjectNamesForm(capString(r.Subject, 200))):
		r.Source = SourceWebForm
	default:
		r.Source = SourcePatientEmail
	}

	// Email.
	senderIsPatient := !fromAutomated && !p.isOwn(r.From) && !x.forwarded
	switch {
	case x.email != "":
		r.Email = x.email
	case x.forwarded && x.fwdEmail != "" && !p.isAutomated(x.fwdEmail):
		r.Email = x.fwdEmail
	case replyToPatient && (fromAutomated || r.Source == SourceWebForm):
		r.Email = r.ReplyTo
	case x.calEmail != "":
		r.Email = x.calEmail
	case senderIsPatient && r.From != "":
		r.Email = r.From
	case x.freeEmail != "" && !p.isAutomated(x.freeEmail) && !p.isOwn(x.freeEmail):
		r.Email = x.freeEmail
	case replyToPatient:
		r.Email = r.ReplyTo
	}

	// Name.
	switch {
	case x.given != "" || x.family != "":
		r.GivenName, r.FamilyName = x.given, x.family
		r.Name = strings.TrimSpace(x.given + " " + x.family)
		if x.name != "" && r.GivenName == "" {
			r.Name = x.name
		}
	case x.name != "":
		r.Name = x.name
	case x.calName != "":
		r.Name = x.calName
	case x.forwarded && x.fwdName != "":
		r.Name = x.fwdName
	case x.freeName != "":
		r.Name = x.freeName
	case senderIsPatient:
		r.Name = p.senderName
	case replyToPatient:
		r.Name = p.replyToName
	}
	if r.Name == "" && x.freeName != "" {
		r.Name = x.freeName
	}
	if r.GivenName == "" && r.FamilyName == "" && r.Name != "" {
		r.GivenName, r.FamilyName = splitName(r.Name)
	}

	// Phone.
	if x.phone != "" {
		if e, ok := normalizePhone(x.phone, region); ok {
			r.Phone = e
		} else if e := findPhone(x.phone, region); e != "" {
			r.Phone = e
		} else {
			r.Phone = x.phone
			p.problem("The phone number %q does not look like a valid number.", capString(x.phone, 40))
		}
	} else if x.freePhone != "" {
		r.Phone = x.freePhone
	}

	// Date of birth.
	if x.dob != "" {
		if d, ok := findDate(x.dob, region); ok {
			r.DateOfBirth = isoDay(d)
		} else {
			p.problem("The date of birth %q could not be read.", capString(x.dob, 40))
		}
	}

	// Requested date and time.
	reqText := x.requestedText
	if reqText == "" && (x.requestedDate != "" || x.requestedTime != "") {
		reqText = strings.TrimSpace(x.requestedDate + " " + x.requestedTime)
	}
	// An invitation's DTSTART is exact (with its time zone): prefer it.
	switch {
	case !x.calStart.IsZero():
		r.Requested = x.calStart
		r.RequestedText = x.calStartText
		if reqText != "" {
			r.RequestedText = reqText
		}
	case reqText != "":
		r.RequestedText = reqText
		if t, ok := parseRequested(reqText, region, p.opts.Location); ok {
			r.Requested = t
		}
	case x.freeRequested != "":
		r.RequestedText = x.freeRequested
	}

	// Message.
	switch {
	case x.message != "":
		r.Message = x.message
	case x.calSummary != "" && r.Source != SourcePatientEmail:
		r.Message = x.calSummary
	case r.Source == SourcePatientEmail:
		r.Message = capString(strings.TrimSpace(x.extractionText), 4000)
	}

	if (fromAutomated || p.isOwn(r.From)) && r.Email == "" && r.Phone == "" {
		p.problem("The email came from an automatic sender and names no patient email or phone.")
	}
}

// isoDay is t.Format("2006-01-02") for a year from 0 to 9999 (findDate
// gives 1900 to 2200), without Format's layout parsing.
// TestIsoDayMatchesFormat checks it.
func isoDay(t time.Time) string {
	y, m, d := t.Date()
	if y < 0 || y > 9999 {
		return t.Format("2006-01-02")
	}
	b := [10]byte{byte('0' + y/1000), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10), '-',
		byte('0' + int(m)/10), byte('0' + int(m)%10), '-', byte('0' + d/10), byte('0' + d%10)}
	return string(b[:])
}

// splitName splits "Given Family" or "Family, Given"; names in scripts
// written without spaces are left whole.
func splitName(name string) (given, family string) {
	if f, g, ok := strings.Cut(name, ","); ok {
		return strings.TrimSpace(g), strings.TrimSpace(f)
	}
	if singleSpaced(name) {
		// Its words are those between its spaces, and an ASCII name is
		// never written family name first.
		last := strings.LastIndexByte(name, ' ')
		if last < 0 {
			return "", ""
		}
		return name[:last], name[last+1:]
	}
	if fieldsJoined(name) {
		// Its words are those between its spaces, without a copy.
		first := strings.IndexByte(name, ' ')
		if first < 0 {
			return "", ""
		}
		if familyNameFirst(name) {
			return name[first+1:], name[:first]
		}
		last := strings.LastIndexByte(name, ' ')
		return name[:last], name[last+1:]
	}
	words := strings.Fields(name)
	if len(words) < 2 {
		return "", ""
	}
	if familyNameFirst(name) {
		return strings.Join(words[1:], " "), words[0]
	}
	return strings.Join(words[:len(words)-1], " "), words[len(words)-1]
}

var automatedLocal = regexp.MustCompile(`(?i)^(?:no-?reply|do-?not-?reply|donotreply|notifications?|notify|forms?|form-?submissions?|mailer(?:-daemon)?|bounce[s]?|wordpress|postmaster|calendar-notification|scheduling|appointments?|bookings?|support|system|alerts?)(?:[+\-._].*)?$`)

var schedulingDomains = []string{"calendly.com", "acuityscheduling.com", "janeapp.com", "jane.app",
	"squareup.com", "square.site", "wix.com", "setmore.com", "simplybook.me", "zocdoc.com",
	"mindbodyonline.com", "vagaro.com", "schedulicity.com", "booksy.com", "fresha.com",
	"practicebetter.io", "cliniko.com", "intakeq.com", "youcanbook.me", "savvycal.com"}

var formDomains = []string{"jotform.com", "typeform.com", "formspree.io", "wufoo.com", "wpforms.com",
	"squarespace.com", "squarespace-mail.com", "cognitoforms.com", "123formbuilder.com",
	"netlify.com", "formstack.com", "hubspot.com", "webflow.com", "forms.gle"}

// domainIn reports whether addr's domain (after its first "@") is one of
// domains (lower case) or a subdomain of one, in any case. A request asks
// this of the same few addresses a dozen times, so an ASCII address is
// compared in place, without lower-casing a copy or joining "." and each
// domain. strings.ToLower maps some non-ASCII letters to ASCII ones (the
// Kelvin sign to "k"), so other addresses are lower-cased first.
// TestDomainInMatchesSlowPath checks both ways against the plain one.
func domainIn(addr string, domains []string) bool {
	hasSuffix := hasSuffixFold
	if !isASCII(addr) {
		addr, hasSuffix = strings.ToLower(addr), strings.HasSuffix
	}
	at := strings.IndexByte(addr, '@')
	if at < 0 {
		return false
	}
	d := addr[at+1:]
	for _, s := range domains {
		// The first byte tells most domains apart before comparing all.
		if len(d) < len(s) || d[len(d)-len(s)]|0x20 != s[0] {
			continue
		}
		if hasSuffix(d, s) && (len(d) == len(s) || d[len(d)-len(s)-1] == '.') {
			return true
		}
	}
	return false
}

func isSchedulingService(addr string) bool { return domainIn(addr, schedulingDomains) }
func isFormService(addr string) bool       { return domainIn(addr, formDomains) }

// isAutomated reports an address a person does not read: no-reply and
// notification senders, form and scheduling services.
func (p *parser) isAutomated(addr string) bool {
	if addr == "" {
		return false
	}
	return isAutomatedLocal(localPart(addr)) || isSchedulingService(addr) || isFormService(addr)
}

// localPart is addr before its first "@" (all of it without one).
func localPart(addr string) string {
	local, _, _ := strings.Cut(addr, "@")
	return local
}

// automatedLocalWords are the local parts automatedLocal names, each
// optional letter spelt out.
var automatedLocalWords = []string{"noreply", "no-reply", "do-not-reply", "do-notreply", "donot-reply",
	"donotreply", "notification", "notifications", "notify", "form", "forms", "formsubmission",
	"formsubmissions", "form-submission", "form-submissions", "mailer", "mailer-daemon", "bounce",
	"bounces", "wordpress", "postmaster", "calendar-notification", "scheduling", "appointment",
	"appointments", "booking", "bookings", "support", "system", "alert", "alerts"}

// isAutomatedLocal is automatedLocal.MatchString(local) without the
// regexp for ASCII local parts (a microsecond each, and a request asks
// about the same few addresses half a dozen times): one of the words, in
// any case, alone or followed by one of "+-._" and anything but a line
// break. (?i) also folds "ſ" and the Kelvin sign to ASCII letters, so
// other local parts take the pattern. TestIsAutomatedLocalMatchesRegexp
// checks them against each other.
func isAutomatedLocal(local string) bool {
	if !isASCII(local) {
		return automatedLocal.MatchString(local)
	}
	if local == "" {
		return false
	}
	for _, w := range automatedLocalWords {
		// The first byte tells most words apart before comparing all.
		if local[0]|0x20 != w[0] || !hasPrefixFold(local, w) {
			continue
		}
		rest := local[len(w):]
		if rest == "" || strings.IndexByte("+-._", rest[0]) >= 0 && strings.IndexByte(rest, '\n') < 0 {
			return true
		}
	}
	return false
}

func (p *parser) isOwn(addr string) bool {
	for _, own := range p.opts.OwnAddresses {
		if strings.EqualFold(strings.TrimSpace(own), addr) {
			return true
		}
	}
	return false
}

// subjectNamesForm is containsAny(strings.ToLower(subject),
// formSubjectWords), a subject of at most 200 bytes lower-cased on the
// stack (appendLower; a byte lower-cases to 3 at most).
// TestSubjectNamesFormMatchesToLower checks it.
func subjectNamesForm(subject string) bool {
	if len(subject) > 200 {
		return containsAny(strings.ToLower(subject), formSubjectWords)
	}
	var buf [3 * 200]byte
	l := appendLower(buf[:0], subject)
	for _, w := range formSubjectWords {
		if bytes.Contains(l, []byte(w)) {
			return true
		}
	}
	return false
}

var formSubjectWords = []string{"form", "submission", "formulario", "solicitud", "заявка", "表单"}

// familyNameFirst reports a name in a script whose names are written family
// name first (Chinese, Japanese, Korean).
func familyNameFirst(name string) bool {
	for _, r := range name {
		if r >= minFamilyFirstRune && unicode.In(r, familyFirstScripts...) {
			return true
		}
	}
	return false
}

// familyFirstScripts are the scripts familyNameFirst looks for, and
// minFamilyFirstRune the lowest rune in any of them: the runes below it
// (ASCII, Latin, Cyrillic…) are not looked up in the four tables.
var (
	familyFirstScripts = []*unicode.RangeTable{unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul}
	minFamilyFirstRune = func() rune {
		low := rune(unicode.MaxRune)
		for _, t := range familyFirstScripts {
			if len(t.R16) > 0 {
				low = min(low, rune(t.R16[0].Lo))
			} else if len(t.R32) > 0 {
				low = min(low, rune(t.R32[0].Lo))
			}
		}
		return low
	}()
)
