package storage

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// importBenchRequests makes n booking requests as the mailbox import hands
// them to the store: the fields a web form fills, the email's readable text
// (about 1 KB) and a raw email of about 5 KB (delivery headers, a DKIM
// signature, a plain-text and an HTML part), with accented names now and
// then, some needing review. Request i has UID i+1.
func importBenchRequests(n int) []RequestImport { return importBenchRequestsFrom(0, n) }

// importBenchRequestsFrom makes requests first to first+n-1 of
// importBenchRequests.
func importBenchRequestsFrom(first, n int) []RequestImport {
	given := []string{"Maria", "Zoë", "José", "Bartholomew", "Anh", "Siobhán", "Li", "Kwame", "Olga", "Thandiwe"}
	family := []string{"Lopez", "Nguyễn", "O'Brien", "Müller", "Okafor", "García-Márquez", "Ivanova", "Smith", "Tanaka", "Dubois"}
	reasons := []string{
		"Lower back pain since I lifted boxes at work last month; it gets worse when I sit for more than an hour & I can't sleep on my left side.",
		"Follow-up for my sciatica. The last treatment helped a lot but the pain came back after a long drive <3 hours>. Could we try cupping too?",
		"Migraines 2–3 times a week, usually in the afternoon. My doctor suggested acupuncture. I'm free most mornings.",
		"Fertility support — we were referred by Dr. Patel. Please let me know what to bring to the first visit.",
	}
	sig := strings.Repeat("dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZSBidXQgaXQgaXMgYXMgbG9uZyBhcyBvbmU", 5)
	out := make([]RequestImport, n)
	for k := range out {
		i := first + k
		g, f := given[i%len(given)], family[(i/len(given))%len(family)]
		name := g + " " + f
		email := fmt.Sprintf("%s.%d@example.com", strings.ToLower(g[:1]), i)
		phone := fmt.Sprintf("+1503555%04d", i%10000)
		dob := fmt.Sprintf("19%02d-%02d-%02d", 40+i%60, 1+i%12, 1+i%28)
		reason := reasons[i%len(reasons)]
		received := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * 7 * time.Minute)
		requested := received.Add(72 * time.Hour).Truncate(time.Hour)
		reqText := requested.Format("01/02/2006 3:04 PM")
		msgID := fmt.Sprintf("form-%d-%x@acuclinic.example", i, uint64(i)*2654435761)
		body := fmt.Sprintf("New appointment request\n\nName: %s\nEmail: %s\nPhone: (503) 555-%04d\nDate of birth: %s\n"+
			"Preferred date and time: %s\nNew patient: yes\nHow did you hear about us: a friend\n\nMessage:\n%s\n\n"+
			"Insurance: Blue Cross PPO, member ID on file. I can also send a photo of the card if needed.\n"+
			"Please call or text; mornings are best. If nothing is open this week, next week works too.\n\n"+
			"--\nThis message was sent from the contact form on acuclinic.example. Reply to this email to answer %s directly.\n"+
			"Privacy: the details above were entered by the person named in this request and are shared only with the clinic's "+
			"front desk. They are kept as long as the clinic's records policy requires. To stop receiving these notifications, "+
			"change the form's settings in the website's dashboard. Questions about the form: support@forms.example.\n",
			name, email, i%10000, dob, reqText, reason, g)
		html := "<html><body><table>" + strings.NewReplacer("\n", "</td></tr>\n<tr><td>", ": ", "</td><td>").Replace(body) +
			"</table><p style=\"font-family:Helvetica,Arial,sans-serif;font-size:12px;color:#666\">Sent by the website form.</p></body></html>"
		raw := fmt.Sprintf("Return-Path: <noreply@acuclinic.example>\r\nDelivered-To: frontdesk@acuclinic.example\r\n"+
			"Received: from mx1.mailhost.example (mx1.mailhost.example [203.0.113.25])\r\n\tby imap.acuclinic.example with LMTP id %x\r\n\tfor <frontdesk@acuclinic.example>; %s\r\n"+
			"Received: from web-forms.acuclinic.example (web-forms.acuclinic.example [198.51.100.7])\r\n\tby mx1.mailhost.example (Postfix) with ESMTPS id %X\r\n\tfor <frontdesk@acuclinic.example>; %s\r\n"+
			"ARC-Seal: i=1; a=rsa-sha256; t=1764000000; cv=none; d=mailhost.example; s=arc-2026;\r\n\tb=%s\r\n"+
			"ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed; d=mailhost.example; s=arc-2026;\r\n\th=from:reply-to:to:subject:date:message-id;\r\n\tbh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n\tb=%s\r\n"+
			"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=acuclinic.example; s=forms;\r\n\th=from:reply-to:to:subject:date:message-id:mime-version:content-type;\r\n\tbh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n\tb=%s\r\n"+
			"Message-ID: <%s>\r\nDate: %s\r\nFrom: Website <noreply@acuclinic.example>\r\nReply-To: %s <%s>\r\nTo: frontdesk@acuclinic.example\r\n"+
			"Subject: New appointment request from %s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"=_b%d\"\r\n\r\n"+
			"--=_b%d\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n%s\r\n"+
			"--=_b%d\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n%s\r\n--=_b%d--\r\n",
			i*7919, received.Format(time.RFC1123Z), i*104729, received.Format(time.RFC1123Z), sig, sig, sig,
			msgID, received.Format(time.RFC1123Z), name, email, name, i, i, strings.ReplaceAll(body, "\n", "\r\n"), i, html, i)
		r := BookingRequest{
			MessageID: "<" + msgID + ">", Subject: "New appointment request from " + name, From: "noreply@acuclinic.example",
			ReplyTo: email, Received: received, Source: "web-form",
			Name: name, GivenName: g, FamilyName: f, Email: email, Phone: phone, DateOfBirth: dob,
			Requested: requested, RequestedText: reqText, Message: reason, BodyText: body,
			Folder: "INBOX", UID: uint32(i + 1), UIDValidity: 1764000000,
		}
		if i%7 == 3 {
			r.Status = RequestNeedsReview
			r.Requested, r.Problems = time.Time{}, []string{"The date asked for could not be read.", "Two phone numbers: which one to call?"}
		}
		out[k] = RequestImport{Request: r, Raw: []byte(raw)}
	}
	return out
}

// BenchmarkImportBookingRequests imports 2,000 realistic requests into a
// new store in batches as the mailbox's Flush writes them (64 and 500 per
// transaction, each with the sync position), plaintext and encrypted
// (AES-GCM under a data key, as the app runs). Opening and closing the
// store are not timed. Wall time includes waiting for fdatasync, once per
// batch; cpu-µs/request is the CPU the process used (user and system, the
// garbage collector's included), which is what the import on a busy
// 2-core machine competes for.
//
//	go test -run '^$' -bench ImportBookingRequests -count 5 ./storage/
func BenchmarkImportBookingRequests(b *testing.B) {
	const n = 2000
	reqs := importBenchRequests(n)
	var rawBytes int
	for _, r := range reqs {
		rawBytes += len(r.Raw)
	}
	for _, encrypted := range []bool{false, true} {
		for _, size := range []int{64, 500} {
			name := fmt.Sprintf("plaintext/batch=%d", size)
			if encrypted {
				name = fmt.Sprintf("encrypted/batch=%d", size)
			}
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(rawBytes))
				var cpu time.Duration
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					dir, err := os.MkdirTemp("", "frontdesk-import-bench-")
					if err != nil {
						b.Fatal(err)
					}
					s := openImportBenchStore(b, dir, encrypted)
					b.StartTimer()
					cpu0 := processCPU()
					for off := 0; off < n; off += size {
						end := min(off+size, n)
						saved, err := s.ImportBookingRequests(reqs[off:end], MailSyncPosition{Folder: "INBOX", UIDValidity: 1764000000, LastUID: uint32(end)})
						if err != nil || len(saved) != end-off {
							b.Fatalf("imported %d of %d: %v", len(saved), end-off, err)
						}
					}
					cpu += processCPU() - cpu0
					b.StopTimer()
					if got := s.BookingRequestCounts(); got[RequestNew]+got[RequestNeedsReview] != n {
						b.Fatalf("counts after the import: %v", got)
					}
					s.Close()
					os.RemoveAll(dir)
					b.StartTimer()
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/request")
				b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*n), "cpu-µs/request")
			})
		}
	}
}

// openImportBenchStore opens a new store in dir: plaintext, or set up with
// an admin so that every value is sealed with AES-GCM.
func openImportBenchStore(b *testing.B, dir string, encrypted bool) *Store {
	b.Helper()
	if !encrypted {
		s, err := Open(dir, Options{Plaintext: true})
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	s, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Setup(adminName, adminPass); err != nil {
		b.Fatal(err)
	}
	return s
}
