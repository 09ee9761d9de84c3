package mailbox

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	ical "github.com/emersion/go-ical"
)

// readCalendar reads the first event of a text/calendar part: when it
// starts, what it is about, and who the patient is among its organizer and
// attendees (never the clinic's own address nor an automatic sender).
func (p *parser) readCalendar(text string, x *extracted) {
	ev, found, err := firstEvent(text)
	if err != nil {
		p.problem("The calendar invitation could not be read.")
		return
	}
	if !found {
		return
	}
	x.calendar = true
	if ev.hasSummary && x.calSummary == "" {
		if s, err := ev.summary.Text(); err == nil {
			x.calSummary = capString(strings.TrimSpace(s), 2000)
		}
	}
	if prop := &ev.start; ev.hasStart && x.calStart.IsZero() {
		t, err := startTime(prop, p.opts.Location)
		if err != nil {
			// An unknown TZID (e.g. a Windows zone name): read the wall-clock
			// time where the clinic is and say so.
			loose := *prop
			loose.Params = ical.Params{}
			for k, v := range prop.Params {
				if k != ical.ParamTimezoneID {
					loose.Params[k] = v
				}
			}
			if t2, err2 := loose.DateTime(p.opts.Location); err2 == nil {
				t = t2
				p.problem("The invitation's time zone %q is unknown; the time was read as local time.", capString(prop.Params.Get(ical.ParamTimezoneID), 60))
			} else {
				p.problem("The invitation's start time %q could not be read.", capString(prop.Value, 40))
			}
		}
		if !t.IsZero() {
			x.calStart = t
			x.calStartText = startText(t)
		}
	}

	// A scheduling service's organizer is the clinic; the invitee attends.
	// A patient's own invitation has the patient as organizer. The first
	// address in that order that is neither the clinic's nor automatic is
	// the patient's; the name is read only for it.
	first, then := ev.organizers, ev.attendees
	if isSchedulingService(p.req.From) || p.isAutomated(p.req.From) {
		first, then = then, first
	}
	for _, props := range [2][]ical.Prop{first, then} {
		for i := range props {
			email := strings.TrimSpace(props[i].Value)
			if len(email) > 7 && strings.EqualFold(email[:7], "mailto:") {
				email = email[7:]
			}
			email = strings.ToLower(email)
			if email == "" || p.isOwn(email) || p.isAutomated(email) {
				continue
			}
			x.calName, x.calEmail = cleanName(props[i].Params.Get(ical.ParamCommonName)), email
			return
		}
	}
}

// calEvent is what readCalendar reads of a calendar's first event: its
// first SUMMARY and DTSTART, and its ORGANIZER and ATTENDEE properties,
// as go-ical's Decoder gives them (Events()[0].Props), except that a
// property without parameters has nil Params, not an empty map.
type calEvent struct {
	summary, start        ical.Prop
	hasSummary, hasStart  bool
	organizers, attendees []ical.Prop
}

// firstEvent reads iCalendar text as go-ical's Decoder does, and fails
// where it fails (every line of the calendar is still checked), but keeps
// only the first event's few properties readCalendar reads; found is
// false when the calendar has no event. Building the whole calendar (a map of
// properties per component, a map of parameters per line, the component
// tree) was most of readCalendar's cost and all of it garbage but these.
// go-ical can also index past the end of some malformed content lines
// (found by FuzzParseRequest) and panic; icalDecoder returns an error
// there instead, and a panic is still turned into one.
// TestFirstEventMatchesGoICal checks it against go-ical, and
// TestDecodeCalendarMatchesGoICal checks the line reading it shares with
// a whole-calendar decoder.
func firstEvent(text string) (ev calEvent, found bool, err error) {
	defer func() {
		if v := recover(); v != nil {
			ev, found, err = calEvent{}, false, fmt.Errorf("ical: malformed calendar: %v", v)
		}
	}()
	d := icalDecoder{s: text}
	l, err := d.contentLine()
	if err != nil {
		return calEvent{}, false, err
	}
	name, rest, err := splitContentLine(l)
	if err != nil {
		return calEvent{}, false, err
	}
	_, value, err := contentLineParams(rest, false)
	if err != nil {
		return calEvent{}, false, err
	}
	if knownName(name) != "BEGIN" {
		return calEvent{}, false, fmt.Errorf("ical: malformed component: expected BEGIN property, got %q", strings.ToUpper(name))
	}
	// go-ical decodes the whole component before it looks at the name;
	// either way, another top-level component is an error.
	if comp := strings.ToUpper(value); comp != ical.CompCalendar {
		return calEvent{}, false, fmt.Errorf("ical: invalid toplevel component name: expected %q, got %q", ical.CompCalendar, comp)
	}
	if err := d.skimBody(ical.CompCalendar, true, false); err != nil {
		return calEvent{}, false, err
	}
	return d.ev, d.found, nil
}

// icalDecoder is go-ical's Decoder (decoder.go) reading a string: s is
// the text not read yet. ev is the first event skimBody found, if found.
type icalDecoder struct {
	s     string
	ev    calEvent
	found bool
}

var errICalLine = errors.New("ical: malformed content line")

// line is the Decoder's readLine: bufio.Reader.ReadLine's line, up to a
// "\n" with one "\r" before it dropped, or the rest of the text; false at
// the end of the text.
func (d *icalDecoder) line() (string, bool) {
	if d.s == "" {
		return "", false
	}
	i := strings.IndexByte(d.s, '\n')
	if i < 0 {
		l := d.s
		d.s = ""
		return l, true
	}
	l := d.s[:i]
	d.s = d.s[i+1:]
	if strings.HasSuffix(l, "\r") {
		l = l[:len(l)-1]
	}
	return l, true
}

// continuedLine is readContinuedLine: a line and the lines after it that
// start with a space or a tab (folded lines), without that first byte.
func (d *icalDecoder) continuedLine() (string, error) {
	l, ok := d.line()
	if !ok {
		return "", io.EOF
	}
	if len(d.s) == 0 || d.s[0] != ' ' && d.s[0] != '\t' {
		return l, nil // nearly every line: a slice of the text
	}
	b := []byte(l)
	for len(d.s) > 0 && (d.s[0] == ' ' || d.s[0] == '\t') {
		d.s = d.s[1:]
		more, ok := d.line()
		if !ok {
			return "", io.EOF
		}
		b = append(b, more...)
	}
	return string(b), nil
}

// contentLine is the first half of the Decoder's decodeContentLine: the
// next non-empty (unfolded) line.
func (d *icalDecoder) contentLine() (string, error) {
	for {
		l, err := d.continuedLine()
		if err != nil || l != "" {
			return l, err
		}
	}
}

// splitContentLine begins go-ical's lineDecoder.decodeContentLine:
// NAME *(";" PARAM "=" VALUE *("," VALUE)) ":" VALUE. It returns the name
// as written (go-ical upper-cases it) and the rest from the ";" or ":"
// after it.
func splitContentLine(s string) (name, rest string, err error) {
	// strings.IndexAny(s, ";:"), which go-ical's rune reading finds too:
	// the loop is a third of the cost, for the name is short.
	for i := 0; i < len(s); i++ {
		if s[i] == ';' || s[i] == ':' {
			if i == 0 {
				break
			}
			return s[:i], s[i:], nil
		}
	}
	return "", "", errICalLine // no colon, or no name
}

// contentLineParams is the rest of decodeContentLine: the parameters, and
// the value after them. A parameter value is quoted or runs to the next
// ";,:" (a '"' in it is an error). The parameters are collected (their
// names upper-cased, as go-ical does) only when collect is set, and then
// params is nil if there are none; otherwise they are only checked.
func contentLineParams(s string, collect bool) (params ical.Params, value string, err error) {
	for len(s) > 0 && s[0] == ';' {
		s = s[1:]
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return nil, "", errICalLine // no "=", or no parameter name
		}
		paramName := s[:eq]
		if collect {
			paramName = strings.ToUpper(paramName)
			if params == nil {
				params = make(ical.Params)
			}
		}
		s = s[eq+1:]
		for {
			var v string
			if len(s) > 0 && s[0] == '"' {
				end := strings.IndexByte(s[1:], '"')
				if end < 0 {
					return nil, "", errICalLine // unterminated quoted string
				}
				v, s = s[1:1+end], s[2+end:]
			} else {
				end := strings.IndexAny(s, "\";,:")
				if end < 0 {
					end = len(s)
				} else if s[end] == '"' {
					return nil, "", errICalLine // a double quote inside a value
				}
				v, s = s[:end], s[end:]
			}
			if collect {
				params[paramName] = append(params[paramName], v)
			}
			// go-ical reads the byte after a value unchecked: at the end
			// of the line it panics, and after a quoted value anything but
			// ",;:" makes it panic.
			if len(s) == 0 {
				return nil, "", errICalLine
			}
			if s[0] == ',' {
				s = s[1:]
				continue
			}
			if s[0] == ';' || s[0] == ':' {
				break
			}
			return nil, "", errICalLine
		}
	}
	if len(s) == 0 || s[0] != ':' {
		return nil, "", errICalLine // expected a colon
	}
	return params, s[1:], nil
}

// knownName is strings.ToUpper(name) when that is one of the names
// skimBody looks for (BEGIN, END, and the event's properties
// readCalendar reads), and "" otherwise, without the upper-case copy of a
// lower-case name, and looking at each line's name once. (Not
// strings.EqualFold alone: ToUpper makes "ı" an "I", EqualFold does not.)
func knownName(name string) string {
	for i := 0; i < len(name); i++ {
		if name[i] >= utf8.RuneSelf {
			switch u := strings.ToUpper(name); u {
			case "BEGIN", "END", ical.PropSummary, ical.PropDateTimeStart, ical.PropOrganizer, ical.PropAttendee:
				return u
			}
			return ""
		}
	}
	var known string
	switch len(name) {
	case 3:
		known = "END"
	case 5:
		known = "BEGIN"
	case 7:
		known = ical.PropSummary
		if name[0] == 'D' || name[0] == 'd' {
			known = ical.PropDateTimeStart
		}
	case 8:
		known = ical.PropAttendee
	case 9:
		known = ical.PropOrganizer
	default:
		return ""
	}
	// ASCII name and ASCII known: EqualFold is ToUpper's comparison.
	if strings.EqualFold(name, known) {
		return known
	}
	return ""
}

// skimBody is the Decoder's decodeComponentBody without building the
// component: it checks every line and nested component up to the END of
// name. Inside the calendar (top), the first VEVENT's properties
// readCalendar reads are kept in d.ev (event is set while reading it).
func (d *icalDecoder) skimBody(name string, top, event bool) error {
	for {
		l, err := d.contentLine()
		if err != nil {
			return err
		}
		propName, rest, err := splitContentLine(l)
		if err != nil {
			return err
		}
		// The event's property this line is, if readCalendar reads it.
		known := knownName(propName)
		keep := false
		if event {
			switch known {
			case ical.PropSummary:
				keep = !d.ev.hasSummary
			case ical.PropDateTimeStart:
				keep = !d.ev.hasStart
			case ical.PropOrganizer, ical.PropAttendee:
				keep = true
			}
		}
		params, value, err := contentLineParams(rest, keep)
		if err != nil {
			return err
		}
		switch {
		case keep:
			prop := ical.Prop{Name: known, Params: params, Value: value}
			switch known {
			case ical.PropSummary:
				d.ev.summary, d.ev.hasSummary = prop, true
			case ical.PropDateTimeStart:
				d.ev.start, d.ev.hasStart = prop, true
			case ical.PropOrganizer:
				d.ev.organizers = append(d.ev.organizers, prop)
			case ical.PropAttendee:
				d.ev.attendees = append(d.ev.attendees, prop)
			}
		case known == "END":
			if !strings.EqualFold(value, name) {
				return fmt.Errorf("ical: malformed component: expected END property for %q, got %q", name, value)
			}
			return nil
		case known == "BEGIN":
			child := strings.ToUpper(value)
			first := top && !d.found && child == ical.CompEvent
			if first {
				d.found = true
			}
			if err := d.skimBody(child, false, first); err != nil {
				return err
			}
		}
	}
}

// startTime is prop.DateTime(loc), with the time zones TZID parameters
// name loaded once. DateTime calls time.LoadLocation, which opens and
// parses a zoneinfo file (20 µs), for every date-time in local time
// ("20061207T100000", 15 characters) that has a TZID; such a value is read
// here the same way with the zone from zoneCache. Every other value (a
// date, UTC, no TZID) takes DateTime's own way.
// TestStartTimeMatchesDateTime checks them against each other.
func startTime(prop *ical.Prop, loc *time.Location) (time.Time, error) {
	const localDateTime = "20060102T150405"
	tzid := prop.Params.Get(ical.ParamTimezoneID)
	if vt := prop.ValueType(); tzid == "" || len(prop.Value) != len(localDateTime) ||
		vt != ical.ValueDefault && vt != ical.ValueDateTime {
		return prop.DateTime(loc)
	}
	zone, err := loadZone(tzid)
	if err != nil {
		return time.Time{}, err
	}
	return time.ParseInLocation(localDateTime, prop.Value, zone)
}

// zoneCache holds what loadZone found for each name, zone or error: at
// most maxCachedZones names, as they come from mail. A name no zone has
// (Outlook writes Windows names, "W. Europe Standard Time") costs
// time.LoadLocation ~90 µs of looking on disk each time, more than a zone
// found.
var zoneCache struct {
	mu sync.Mutex
	m  map[string]zoneResult
}

type zoneResult struct {
	zone *time.Location
	err  error
}

const maxCachedZones = 64

// loadZone is time.LoadLocation, remembering its answers.
func loadZone(name string) (*time.Location, error) {
	zoneCache.mu.Lock()
	z, ok := zoneCache.m[name]
	zoneCache.mu.Unlock()
	if ok {
		return z.zone, z.err
	}
	zone, err := time.LoadLocation(name)
	zoneCache.mu.Lock()
	if zoneCache.m == nil {
		zoneCache.m = map[string]zoneResult{}
	}
	if len(zoneCache.m) < maxCachedZones {
		zoneCache.m[name] = zoneResult{zone, err}
	}
	zoneCache.mu.Unlock()
	return zone, err
}

// startText is t.Format("Mon 2 Jan 2006 15:04 MST") without Format's
// reading of the layout (time.nextStdChunk was a fifth of readCalendar's
// own time), for a year of four digits and a named zone. A zone without a
// name, which Format writes as an offset, and other years take Format.
// TestStartTextMatchesFormat checks it.
func startText(t time.Time) string {
	zone, _ := t.Zone()
	y, m, d := t.Date()
	if zone == "" || y < 1000 || y > 9999 {
		return t.Format("Mon 2 Jan 2006 15:04 MST")
	}
	var buf [64]byte
	b := append(buf[:0], t.Weekday().String()[:3]...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(d), 10)
	b = append(b, ' ')
	b = append(b, m.String()[:3]...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(y), 10)
	hh, mm := t.Hour(), t.Minute()
	b = append(b, ' ', byte('0'+hh/10), byte('0'+hh%10), ':', byte('0'+mm/10), byte('0'+mm%10), ' ')
	b = append(b, zone...)
	return string(b)
}
