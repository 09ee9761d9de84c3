package mailbox

import (
	"fmt"
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
			x.calStartText = t.Format("Mon 2 Jan 2006 15:04 MST")
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

// decodeCalendar decodes iCalendar text. go-ical can index past the end of
// some malformed content lines (found by FuzzParseRequest); such a panic
// is turned into an error so the rest of the message is still read.
func decodeCalendar(text string) (cal *ical.Calendar, err error) {
	defer func() {
		if v := recover(); v != nil {
			cal, err = nil, fmt.Errorf("ical: malformed calendar: %v", v)
		}
	}()
	return ical.NewDecoder(strings.NewReader(text)).Decode()
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
