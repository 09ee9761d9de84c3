package mailbox

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	ical "github.com/emersion/go-ical"
)

// readCalendar reads the first event of a text/calendar part: when it
// starts, what it is about, and who the patient is among its organizer and
// attendees (never the clinic's own address nor an automatic sender).
func (p *parser) readCalendar(text string, x *extracted) {
	cal, err := decodeCalendar(text)
	if err != nil || cal == nil {
		p.problem("The calendar invitation could not be read.")
		return
	}
	events := cal.Events()
	if len(events) == 0 {
		return
	}
	ev := events[0]
	x.calendar = true
	if s, err := ev.Props.Text(ical.PropSummary); err == nil && x.calSummary == "" {
		x.calSummary = capString(strings.TrimSpace(s), 2000)
	}
	if prop := ev.Props.Get(ical.PropDateTimeStart); prop != nil && x.calStart.IsZero() {
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

	type person struct{ name, email string }
	var organizer []person
	var attendees []person
	read := func(prop ical.Prop) person {
		email := strings.TrimSpace(prop.Value)
		if len(email) > 7 && strings.EqualFold(email[:7], "mailto:") {
			email = email[7:]
		}
		return person{name: cleanName(prop.Params.Get(ical.ParamCommonName)), email: strings.ToLower(email)}
	}
	for _, prop := range ev.Props.Values(ical.PropOrganizer) {
		organizer = append(organizer, read(prop))
	}
	for _, prop := range ev.Props.Values(ical.PropAttendee) {
		attendees = append(attendees, read(prop))
	}
	// A scheduling service's organizer is the clinic; the invitee attends.
	// A patient's own invitation has the patient as organizer.
	order := append(append([]person{}, organizer...), attendees...)
	if isSchedulingService(p.req.From) || p.isAutomated(p.req.From) {
		order = append(append([]person{}, attendees...), organizer...)
	}
	for _, c := range order {
		if c.email == "" || p.isOwn(c.email) || p.isAutomated(c.email) {
			continue
		}
		x.calName, x.calEmail = c.name, c.email
		return
	}
}

// decodeCalendar decodes iCalendar text into what go-ical's Decoder gives,
// and fails where it fails. go-ical builds each parameter value a byte at
// a time by string concatenation, and copies every line through a
// bufio.Reader and a strings.Builder: a scheduling service's invitation
// (a few dozen lines, an ATTENDEE with five parameters) cost 25 µs, most
// of it garbage. icalDecoder follows the same steps over the text itself:
// lines and values are slices of text. go-ical can also index past the end
// of some malformed content lines (found by FuzzParseRequest) and panic;
// icalDecoder returns an error there instead, and a panic is still turned
// into one. TestDecodeCalendarMatchesGoICal checks the two against each
// other.
func decodeCalendar(text string) (cal *ical.Calendar, err error) {
	defer func() {
		if v := recover(); v != nil {
			cal, err = nil, fmt.Errorf("ical: malformed calendar: %v", v)
		}
	}()
	d := icalDecoder{s: text}
	comp, err := d.component()
	if err != nil {
		return nil, err
	}
	if comp.Name != ical.CompCalendar {
		return nil, fmt.Errorf("ical: invalid toplevel component name: expected %q, got %q", ical.CompCalendar, comp.Name)
	}
	return &ical.Calendar{Component: comp}, nil
}

// icalDecoder is go-ical's Decoder (decoder.go) reading a string: s is
// the text not read yet.
type icalDecoder struct{ s string }

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

// contentLine is the Decoder's decodeContentLine: the next non-empty line,
// read as a property.
func (d *icalDecoder) contentLine() (*ical.Prop, error) {
	for {
		l, err := d.continuedLine()
		if err != nil {
			return nil, err
		}
		if l != "" {
			return decodeContentLine(l)
		}
	}
}

// decodeContentLine is go-ical's lineDecoder.decodeContentLine:
// NAME *(";" PARAM "=" VALUE *("," VALUE)) ":" VALUE, where a parameter
// value is quoted or runs to the next ";,:" (a '"' in it is an error).
func decodeContentLine(s string) (*ical.Prop, error) {
	i := strings.IndexAny(s, ";:")
	if i <= 0 {
		return nil, errICalLine // no colon, or no name
	}
	name := strings.ToUpper(s[:i])
	s = s[i:]
	params := make(ical.Params)
	for len(s) > 0 && s[0] == ';' {
		s = s[1:]
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return nil, errICalLine // no "=", or no parameter name
		}
		paramName := strings.ToUpper(s[:eq])
		s = s[eq+1:]
		var values []string
		for {
			var v string
			if len(s) > 0 && s[0] == '"' {
				end := strings.IndexByte(s[1:], '"')
				if end < 0 {
					return nil, errICalLine // unterminated quoted string
				}
				v, s = s[1:1+end], s[2+end:]
			} else {
				end := strings.IndexAny(s, "\";,:")
				if end < 0 {
					end = len(s)
				} else if s[end] == '"' {
					return nil, errICalLine // a double quote inside a value
				}
				v, s = s[:end], s[end:]
			}
			values = append(values, v)
			// go-ical reads the byte after a value unchecked: at the end
			// of the line it panics, and after a quoted value anything but
			// ",;:" makes it panic.
			if len(s) == 0 {
				return nil, errICalLine
			}
			if s[0] == ',' {
				s = s[1:]
				continue
			}
			if s[0] == ';' || s[0] == ':' {
				break
			}
			return nil, errICalLine
		}
		params[paramName] = append(params[paramName], values...)
	}
	if len(s) == 0 || s[0] != ':' {
		return nil, errICalLine // expected a colon
	}
	return &ical.Prop{Name: name, Params: params, Value: s[1:]}, nil
}

// componentBody is the Decoder's decodeComponentBody: properties and
// nested components up to the END of the component name.
func (d *icalDecoder) componentBody(name string) (*ical.Component, error) {
	var prop *ical.Prop
	props := make(ical.Props)
	var children []*ical.Component
	for {
		var err error
		if prop, err = d.contentLine(); err != nil {
			return nil, err
		}
		if prop.Name == "END" {
			break
		}
		if prop.Name == "BEGIN" {
			child, err := d.componentBody(strings.ToUpper(prop.Value))
			if err != nil {
				return nil, err
			}
			children = append(children, child)
			continue
		}
		props[prop.Name] = append(props[prop.Name], *prop)
	}
	if !strings.EqualFold(prop.Value, name) {
		return nil, fmt.Errorf("ical: malformed component: expected END property for %q, got %q", name, prop.Value)
	}
	return &ical.Component{Name: name, Props: props, Children: children}, nil
}

// component is the Decoder's decodeComponent: a BEGIN line and its body.
func (d *icalDecoder) component() (*ical.Component, error) {
	prop, err := d.contentLine()
	if err != nil {
		return nil, err
	}
	if prop.Name != "BEGIN" {
		return nil, fmt.Errorf("ical: malformed component: expected BEGIN property, got %q", prop.Name)
	}
	return d.componentBody(strings.ToUpper(prop.Value))
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
