package mailbox

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// memServer is go-imap's in-memory IMAP server on a loopback port: the demo
// mailbox, and the server the unit tests sync against.
type memServer struct {
	addr     *net.TCPAddr
	mem      *imapmemserver.Server
	user     *imapmemserver.User
	server   *imapserver.Server
	listener net.Listener
	done     chan struct{}
	once     sync.Once
}

// startMemServer listens on 127.0.0.1 on a free port. With tlsConfig set,
// STARTTLS is offered; plaintext login is allowed (loopback only).
func startMemServer(username, password string, tlsConfig *tls.Config) (*memServer, error) {
	return startMemServerCaps(username, password, tlsConfig, imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}})
}

// startMemServerCaps is startMemServer announcing caps: tests use it to be
// a server of the older kind.
func startMemServerCaps(username, password string, tlsConfig *tls.Config, caps imap.CapSet) (*memServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("mailbox: starting the demo mailbox: %w", err)
	}
	m := &memServer{addr: ln.Addr().(*net.TCPAddr), mem: imapmemserver.New(), listener: ln, done: make(chan struct{})}
	m.user = imapmemserver.NewUser(username, password)
	if err := m.user.Create(defaultFolder, nil); err != nil {
		ln.Close()
		return nil, err
	}
	m.mem.AddUser(m.user)
	m.server = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return m.mem.NewSession(), nil, nil
		},
		Caps:         caps,
		TLSConfig:    tlsConfig,
		InsecureAuth: true,
		Logger:       discardLogger{},
	})
	go func() {
		defer close(m.done)
		_ = m.server.Serve(ln)
	}()
	return m, nil
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}

func (m *memServer) stop() {
	m.once.Do(func() {
		m.server.Close()
		m.listener.Close()
		<-m.done
	})
}

// appendMessages adds raw messages to folder through a real IMAP session.
func (m *memServer) appendMessages(ctx context.Context, a Account, folder string, msgs [][]byte) error {
	return appendRaw(ctx, a, folder, msgs, time.Time{})
}

// appendRaw appends raw messages to folder in one IMAP session; a non-zero
// arrived is their internal date on the server.
func appendRaw(ctx context.Context, a Account, folder string, msgs [][]byte, arrived time.Time) error {
	s, err := connect(ctx, a)
	if err != nil {
		return err
	}
	defer s.close()
	var opts *imap.AppendOptions
	if !arrived.IsZero() {
		opts = &imap.AppendOptions{Time: arrived}
	}
	for _, raw := range msgs {
		err := s.run(StepServer, func() error {
			cmd := s.client.Append(folder, int64(len(raw)), opts)
			if _, err := cmd.Write(raw); err != nil {
				cmd.Close()
				return err
			}
			if err := cmd.Close(); err != nil {
				return err
			}
			_, err := cmd.Wait()
			return err
		}, "The demo message could not be added.")
		if err != nil {
			return err
		}
	}
	return nil
}

// StartDemo starts a demo mailbox inside the app: go-imap's in-memory
// server on a free 127.0.0.1 port, filled with varied sample booking
// requests (web forms, a scheduling service with an invitation, HTML-only,
// free text, a forward, several languages, one needing review). It returns
// the Account to sync from and a stop function. The mailbox lives until
// stop is called or ctx ends.
func StartDemo(ctx context.Context) (Account, func(), error) {
	password := randomHex(12)
	m, err := startMemServer("demo", password, nil)
	if err != nil {
		return Account{}, nil, err
	}
	a := Account{
		Host:     "127.0.0.1",
		Port:     m.addr.Port,
		Security: SecurityPlain,
		Username: "demo",
		Password: password,
		Timeout:  10 * time.Second,
	}
	if err := m.appendMessages(ctx, a, defaultFolder, DemoMessages(time.Now())); err != nil {
		m.stop()
		return Account{}, nil, err
	}
	stopAfter := context.AfterFunc(ctx, m.stop)
	return a, func() { stopAfter(); m.stop() }, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		return "demo-password"
	}
	return hex.EncodeToString(b)
}

// demoMessage builds one RFC 5322 message.
func demoMessage(id string, date time.Time, from, replyTo, subject, contentType, encoding, body string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "Date: %s\r\n", date.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "From: %s\r\n", from)
	if replyTo != "" {
		fmt.Fprintf(&b, "Reply-To: %s\r\n", replyTo)
	}
	fmt.Fprintf(&b, "To: Front Desk <frontdesk@clinic.example>\r\n")
	fmt.Fprintf(&b, "Subject: %s\r\n", subject)
	fmt.Fprintf(&b, "Message-ID: <%s@demo.frontdesk.example>\r\n", id)
	fmt.Fprintf(&b, "MIME-Version: 1.0\r\nContent-Type: %s\r\n", contentType)
	if encoding != "" {
		fmt.Fprintf(&b, "Content-Transfer-Encoding: %s\r\n", encoding)
	}
	b.WriteString("\r\n")
	b.WriteString(strings.ReplaceAll(body, "\n", "\r\n"))
	return []byte(b.String())
}

// DemoMessages returns the demo mailbox's sample booking requests, dated
// in the days before now and asking for days after it.
func DemoMessages(now time.Time) [][]byte {
	day := func(d int) time.Time { return now.AddDate(0, 0, d).Truncate(time.Hour) }
	// at is o'clock hour, d days from now, where the desk is.
	at := func(d, hour int) time.Time {
		y, m, dd := now.Date()
		return time.Date(y, m, dd+d, hour, 0, 0, 0, now.Location())
	}
	wanted := day(5)
	wantedDate := wanted.Format("01/02/2006")
	ics := strings.Join([]string{
		"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Demo Scheduling//EN", "METHOD:REQUEST",
		"BEGIN:VEVENT", "UID:demo-sched-1@demo.frontdesk.example",
		"DTSTAMP:" + day(-1).UTC().Format("20060102T150405Z"),
		"DTSTART:" + at(7, 10).UTC().Format("20060102T150405Z"),
		"DTEND:" + at(7, 11).UTC().Format("20060102T150405Z"),
		"SUMMARY:Initial evaluation (60 min) - Tom Nguyen",
		"ORGANIZER;CN=Front Desk:mailto:frontdesk@clinic.example",
		"ATTENDEE;CN=Tom Nguyen;RSVP=TRUE:mailto:tom.nguyen@example.com",
		"END:VEVENT", "END:VCALENDAR", ""}, "\n")
	b64 := func(s string) string {
		enc := base64.StdEncoding.EncodeToString([]byte(s))
		var out strings.Builder
		for len(enc) > 76 {
			out.WriteString(enc[:76] + "\n")
			enc = enc[76:]
		}
		out.WriteString(enc + "\n")
		return out.String()
	}
	return [][]byte{
		demoMessage("demo-01", day(-3), `"Clinic Website" <noreply@clinic.example>`, `"Maria Lopez" <maria.lopez@example.com>`,
			"New form submission: Book an appointment", "text/plain; charset=utf-8", "",
			"New form submission\n\nName: Maria Lopez\nEmail: maria.lopez@example.com\nPhone: (503) 555-0142\n"+
				"Date of birth: 1984-06-02\nPreferred date: "+wantedDate+"\nPreferred time: 2:30 PM\n"+
				"Message: Lower back pain for three months, worse when sitting at work.\n"),
		demoMessage("demo-02", day(-3), "Jotform <noreply@jotform.com>", "david.okafor@example.net",
			"Appointment Request - David Okafor", "text/plain; charset=utf-8", "",
			"First Name\nDavid\n\nLast Name\nOkafor\n\nPhone Number\n+1 (971) 555-0188\n\nDOB\n03/15/1979\n\n"+
				"Reason for visit\nSciatica down the left leg since October.\n"),
		demoMessage("demo-03", day(-2), "Demo Scheduling <notifications@calendly.com>", "",
			"New Event: Tom Nguyen - Initial evaluation", `multipart/mixed; boundary="demo-b1"`, "",
			"--demo-b1\nContent-Type: text/plain; charset=utf-8\n\nA new event has been scheduled.\n\n"+
				"Invitee:\nTom Nguyen\n\nInvitee Email:\ntom.nguyen@example.com\n\nInvitee Phone Number:\n+1 503-555-0163\n\n"+
				"--demo-b1\nContent-Type: text/calendar; charset=utf-8; method=REQUEST\n"+
				"Content-Disposition: attachment; filename=invite.ics\n\n"+ics+"--demo-b1--\n"),
		demoMessage("demo-04", day(-2), `"Priya Raman" <priya.r@example.com>`, "",
			"appointment?", "text/html; charset=utf-8", "",
			`<div><p>Hello,</p><p>My name is Priya Raman and I have had lower back pain for <b>six weeks</b>.</p>`+
				`<p>Could I come in next Thursday morning? My cell is 503.555.0107.</p><p>Thank you,<br>Priya</p></div>`),
		demoMessage("demo-05", day(-2), "Robert Chen <rchen77@example.com>", "",
			"Back pain - new patient", "text/plain; charset=us-ascii", "",
			"Hi there,\n\nMy friend recommended your clinic. I've had low back pain for about a year.\n"+
				"Do you have anything next Tuesday afternoon? Best number is 503 555 0199.\n\nThanks,\nRobert Chen\n"),
		demoMessage("demo-06", day(-1), "Dr. Amy Wells <amy.wells@clinic.example>", "",
			"Fwd: New patient - back pain", "text/plain; charset=utf-8", "",
			"Can you book her in for an evaluation please?\n\n---------- Forwarded message ---------\n"+
				"From: Sarah Kim <sarah.kim@example.org>\nSubject: New patient - back pain\n\n"+
				"Hello Dr. Wells,\nI was referred by Dr. Patel for my lower back. My phone is (971) 555-0123.\n\nSarah Kim\n"),
		demoMessage("demo-07", day(-1), "Formulario Web <no-reply@clinic.example>", `"Lucía Fernández" <lucia.fernandez@example.es>`,
			"=?UTF-8?Q?Nueva_solicitud_de_cita?=", "text/plain; charset=utf-8", "base64",
			b64("Nombre: Lucía Fernández\nTeléfono: +34 612 345 678\nFecha de nacimiento: 12 de marzo de 1985\n"+
				"Motivo: Dolor lumbar desde hace dos meses.\n")),
		demoMessage("demo-08", day(-1), "=?UTF-8?B?"+base64.StdEncoding.EncodeToString([]byte("Nguyễn Văn An"))+"?= <an.nguyen@example.vn>", "",
			"=?UTF-8?B?"+base64.StdEncoding.EncodeToString([]byte("Đặt lịch khám"))+"?=", "text/plain; charset=utf-8", "base64",
			b64("Họ và tên: Nguyễn Văn An\nSố điện thoại: +84 912 345 678\nNgày sinh: 1990-01-20\n"+
				"Lời nhắn: Tôi bị đau lưng dưới, muốn đặt lịch khám.\n")),
		demoMessage("demo-09", day(-1), "=?UTF-8?B?"+base64.StdEncoding.EncodeToString([]byte("Иван Петров"))+"?= <ivan.petrov@example.ru>", "",
			"=?UTF-8?B?"+base64.StdEncoding.EncodeToString([]byte("Запись на приём"))+"?=", "text/plain; charset=utf-8", "base64",
			b64("Имя: Иван Петров\nТелефон: +7 916 123-45-67\nДата рождения: 05.09.1970\n"+
				"Сообщение: Боль в пояснице, хотел бы записаться на приём.\n")),
		demoMessage("demo-10", day(0), "xiaoming.wang@example.cn", "",
			"=?UTF-8?B?"+base64.StdEncoding.EncodeToString([]byte("预约"))+"?=", "text/plain; charset=utf-8", "base64",
			b64("您好，\n\n姓名：王小明\n电话：503-555-0177\n出生日期：1988年7月3日\n留言：腰痛三个月，想预约针灸。\n")),
		demoMessage("demo-11", day(0), `"Ben Carter" <ben.carter@example.com>`, "",
			"Re: Your appointment request", "text/plain; charset=utf-8", "",
			"Yes, Monday at 3pm works. My mobile is 971-555-0166.\n\nBen\n\n"+
				"On "+day(-1).Format("Mon, Jan 2, 2006")+" Front Desk <frontdesk@clinic.example> wrote:\n"+
				"> Hi Ben, we have Monday at 3pm free. Call us at 503-555-0100.\n"),
		demoMessage("demo-12", day(0), "Website <noreply@clinic.example>", "",
			"Contact form", "text/plain; charset=x-unknown-charset", "",
			"Someone pressed send without filling in the form.\n"),
	}
}
