package mailbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// State is where Sync keeps its place and its imports; the store backs it.
type State interface {
	// SyncState returns the folder's UIDVALIDITY and the highest UID already
	// imported (0, 0 before the first sync).
	SyncState(folder string) (uidValidity, lastUID uint32, err error)
	// SaveSyncState records progress; Sync calls it after every message.
	SaveSyncState(folder string, uidValidity, lastUID uint32) error
	// HasMessageID reports whether a request with this Request.MessageID was
	// imported before.
	HasMessageID(id string) bool
	// SaveRequest stores a new request with its raw message (which may be
	// only the header and text parts of a very large message).
	SaveRequest(r Request, raw []byte) error
}

// Flusher is a State that may hold saved requests and positions in memory
// to write many at once (the store writes a batch in one transaction).
// Sync calls Flush after every batch of messages and before it returns,
// whatever happened; what was not flushed must not count as imported, so
// a State must write a position only with the requests before it.
type Flusher interface {
	Flush() error
}

// SyncOptions tune Sync. The zero value works.
type SyncOptions struct {
	Parse ParseOptions
	// LargeMessageBytes: messages larger than this are not downloaded
	// whole; only their header and text parts are. Default 2 MiB.
	LargeMessageBytes int64
	// BatchSize is how many messages are fetched per command. Default 100.
	BatchSize int
	// Progress, if set, is called after each message.
	Progress func(done, total int)
}

// SyncReport counts what one Sync pass did.
type SyncReport struct {
	New         int // requests saved
	Duplicates  int // messages already imported (same Message-ID)
	NeedsReview int // of New, how many need a person to read them
	Errors      int // messages that could not be downloaded (saved as needs-review placeholders)
}

const (
	defaultLargeMessage = 2 << 20
	defaultBatchSize    = 500
	batchBytes          = 16 << 20
)

// Sync imports the messages that arrived since the last pass. It only
// reads (BODY.PEEK: nothing is marked seen, nothing is deleted), adds the
// account's keyword to imported messages and, if MoveTo is set, moves
// them there. Progress is saved after each message, so an interrupted pass
// continues where it stopped. A changed UIDVALIDITY restarts from the
// first message, and Message-IDs keep requests from being imported twice.
func Sync(ctx context.Context, a Account, st State, opts SyncOptions) (SyncReport, error) {
	rep, err := syncFolder(ctx, a, st, opts)
	if ferr := flushState(st); ferr != nil && err == nil {
		err = ferr
	}
	return rep, err
}

// flushState flushes st if it is a Flusher.
func flushState(st State) error {
	f, ok := st.(Flusher)
	if !ok {
		return nil
	}
	if err := f.Flush(); err != nil {
		return fmt.Errorf("mailbox: saving requests: %w", err)
	}
	return nil
}

// syncFolder is one Sync pass, without the final flush.
func syncFolder(ctx context.Context, a Account, st State, opts SyncOptions) (SyncReport, error) {
	var rep SyncReport
	if opts.LargeMessageBytes <= 0 {
		opts.LargeMessageBytes = defaultLargeMessage
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = defaultBatchSize
	}
	s, err := connect(ctx, a)
	if err != nil {
		return rep, err
	}
	defer s.close()
	a = s.acct

	sel, err := s.selectFolder(a.Folder, false)
	if err != nil {
		return rep, err
	}
	validity, last, err := st.SyncState(a.Folder)
	if err != nil {
		return rep, fmt.Errorf("mailbox: reading the sync position: %w", err)
	}
	// After a renumbering, Message-IDs from the envelopes let known
	// messages be skipped without downloading them.
	resync := validity != 0 && validity != sel.UIDValidity
	if validity != sel.UIDValidity {
		// New folder or the server renumbered it: look at everything again;
		// Message-IDs keep what was imported from coming in twice.
		last = 0
		if err := st.SaveSyncState(a.Folder, sel.UIDValidity, 0); err != nil {
			return rep, fmt.Errorf("mailbox: saving the sync position: %w", err)
		}
	}
	validity = sel.UIDValidity
	if sel.NumMessages == 0 {
		return rep, nil
	}

	// 1. What is new: UID, size and envelope (for its Message-ID) only.
	type newMessage struct {
		uid       imap.UID
		size      int64
		messageID string
		subject   string
		date      time.Time
	}
	var todo []newMessage
	var set imap.UIDSet
	set.AddRange(imap.UID(last+1), 0) // last+1:*
	err = s.run(StepServer, func() error {
		cmd := s.client.Fetch(set, &imap.FetchOptions{UID: true, RFC822Size: true, Envelope: resync, InternalDate: true})
		defer cmd.Close()
		for {
			s.arm()
			msg := cmd.Next()
			if msg == nil {
				break
			}
			buf, err := msg.Collect()
			if err != nil {
				return err
			}
			// UID FETCH n:* returns the highest message even below n.
			if uint32(buf.UID) <= last {
				continue
			}
			m := newMessage{uid: buf.UID, size: buf.RFC822Size, date: buf.InternalDate}
			if buf.Envelope != nil {
				m.messageID = strings.TrimSpace(buf.Envelope.MessageID)
				m.subject = buf.Envelope.Subject
			}
			todo = append(todo, m)
		}
		return cmd.Close()
	}, "The mail server could not list the new messages.")
	if err != nil {
		return rep, err
	}

	total := len(todo)
	done := 0
	var imported []imap.UID // to mark with the keyword / move, per batch
	flush := func() error {
		if len(imported) == 0 {
			return nil
		}
		uids := imap.UIDSetNum(imported...)
		imported = imported[:0]
		err := s.run(StepServer, func() error {
			return s.client.Store(uids, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.Flag(a.Keyword)}}, nil).Close()
		}, "The mail server did not accept the keyword %s.", a.Keyword)
		var imapErr *imap.Error
		if err != nil && !errors.As(err, &imapErr) {
			// The keyword is only a marker for people reading the mailbox:
			// a server that refuses keywords does not stop the import, but
			// a broken connection does.
			return err
		}
		if a.MoveTo != "" {
			return s.run(StepFolder, func() error {
				_, err := s.client.Move(uids, a.MoveTo).Wait()
				return err
			}, "Imported messages could not be moved to %q; check that the folder exists.", a.MoveTo)
		}
		return nil
	}

	// finishOne records one message as handled: saved or duplicate.
	finishOne := func(uid imap.UID) error {
		imported = append(imported, uid)
		if err := st.SaveSyncState(a.Folder, validity, uint32(uid)); err != nil {
			return fmt.Errorf("mailbox: saving the sync position: %w", err)
		}
		done++
		if opts.Progress != nil {
			opts.Progress(done, total)
		}
		return nil
	}

	save := func(m newMessage, raw []byte, parsed *Request, extraProblems ...string) error {
		var r Request
		if parsed != nil {
			r = *parsed
		} else {
			r = ParseRequest(raw, opts.Parse)
		}
		if r.MessageID == "" {
			r.MessageID = rawMessageID(raw)
		}
		if st.HasMessageID(r.MessageID) {
			rep.Duplicates++
			return finishOne(m.uid)
		}
		if r.Received.IsZero() {
			r.Received = m.date
		}
		r.Folder, r.UID, r.UIDValidity = a.Folder, uint32(m.uid), validity
		for _, p := range extraProblems {
			r.Problems = append(r.Problems, p)
			r.NeedsReview = true
		}
		if err := st.SaveRequest(r, raw); err != nil {
			return fmt.Errorf("mailbox: saving a request: %w", err)
		}
		rep.New++
		if r.NeedsReview {
			rep.NeedsReview++
		}
		return finishOne(m.uid)
	}

	for start := 0; start < len(todo); {
		// A batch holds at most BatchSize messages and batchBytes of small
		// messages, so memory stays bounded whatever the mailbox holds.
		end, bytesInBatch := start, int64(0)
		for end < len(todo) && end-start < opts.BatchSize {
			if sz := todo[end].size; sz <= opts.LargeMessageBytes {
				if bytesInBatch+sz > batchBytes && end > start {
					break
				}
				bytesInBatch += sz
			}
			end++
		}
		batch := todo[start:end]
		start = end
		var small imap.UIDSet
		byUID := map[imap.UID]newMessage{}
		var order []newMessage
		for _, m := range batch {
			if m.messageID != "" && st.HasMessageID(strings.Trim(m.messageID, "<>")) {
				// Known already (e.g. after a UIDVALIDITY change): no download.
				rep.Duplicates++
				if err := finishOne(m.uid); err != nil {
					return rep, err
				}
				continue
			}
			order = append(order, m)
			if m.size <= opts.LargeMessageBytes {
				small.AddNum(m.uid)
				byUID[m.uid] = m
			}
		}

		// 2a. Small messages: whole, streamed one at a time.
		got := map[imap.UID][]byte{}
		// Messages are parsed on every core as they arrive, while the
		// server is still sending the rest.
		parser := newParsePool(opts.Parse)
		if len(small) > 0 {
			err := s.run(StepServer, func() error {
				cmd := s.client.Fetch(small, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
				defer cmd.Close()
				for {
					s.arm()
					msg := cmd.Next()
					if msg == nil {
						break
					}
					var uid imap.UID
					var raw []byte
					for item := msg.Next(); item != nil; item = msg.Next() {
						switch it := item.(type) {
						case imapclient.FetchItemDataUID:
							uid = it.UID
						case imapclient.FetchItemDataBodySection:
							if it.Literal != nil {
								raw, _ = io.ReadAll(io.LimitReader(it.Literal, opts.LargeMessageBytes+1))
							}
						}
					}
					if _, ok := byUID[uid]; ok && raw != nil {
						got[uid] = raw
						parser.add(uid, raw)
					}
				}
				return cmd.Close()
			}, "The mail server stopped sending messages.")
			if err != nil {
				parser.wait()
				return rep, err
			}
		}
		parsed := parser.wait()

		// 2b. In UID order: save each; large ones fetched part by part.
		for _, m := range order {
			if err := ctx.Err(); err != nil {
				return rep, newError(StepTimeout, err, "Checking the mailbox was stopped.")
			}
			raw, ok := got[m.uid]
			var problems []string
			if m.size > opts.LargeMessageBytes {
				var err error
				raw, problems, err = s.fetchLarge(m.uid, opts)
				if err != nil {
					return rep, err
				}
				ok = raw != nil
			}
			if !ok {
				// Gone or unreadable on the server: keep a placeholder so
				// nothing is silently dropped.
				rep.Errors++
				placeholder := fmt.Sprintf("Message-ID: <%s>\r\nSubject: %s\r\n\r\n", strings.Trim(m.messageID, "<>"), mime.QEncoding.Encode("utf-8", m.subject))
				if m.messageID == "" {
					placeholder = fmt.Sprintf("Subject: %s\r\n\r\n", mime.QEncoding.Encode("utf-8", m.subject))
				}
				raw = []byte(placeholder)
				problems = append(problems, fmt.Sprintf("The message (UID %d) could not be downloaded; please read it in the mailbox.", m.uid))
			}
			var pre *Request
			if r, ok := parsed[m.uid]; ok && m.size <= opts.LargeMessageBytes {
				pre = &r
			}
			if err := save(m, raw, pre, problems...); err != nil {
				return rep, err
			}
		}
		// The batch is on disk before the server is told it was imported.
		if err := flushState(st); err != nil {
			return rep, err
		}
		if err := flush(); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// parsePool parses messages concurrently, one worker per CPU.
type parsePool struct {
	jobs chan parseJob
	wg   sync.WaitGroup
	mu   sync.Mutex
	out  map[imap.UID]Request
}

type parseJob struct {
	uid imap.UID
	raw []byte
}

func newParsePool(opts ParseOptions) *parsePool {
	p := &parsePool{jobs: make(chan parseJob, 64), out: map[imap.UID]Request{}}
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for j := range p.jobs {
				r := ParseRequest(j.raw, opts)
				p.mu.Lock()
				p.out[j.uid] = r
				p.mu.Unlock()
			}
		}()
	}
	return p
}

func (p *parsePool) add(uid imap.UID, raw []byte) { p.jobs <- parseJob{uid, raw} }

// wait returns every result once all added messages are parsed.
func (p *parsePool) wait() map[imap.UID]Request {
	close(p.jobs)
	p.wg.Wait()
	return p.out
}

// rawMessageID names a message without a Message-ID by its content.
func rawMessageID(raw []byte) string {
	sum := sha256.Sum256(raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// fetchLarge downloads the header and the text parts (each capped) of a
// large message and rebuilds a small message from them; attachments stay
// on the server.
func (s *session) fetchLarge(uid imap.UID, opts SyncOptions) ([]byte, []string, error) {
	partCap := int64(opts.Parse.MaxPartBytes)
	if partCap <= 0 {
		partCap = defaultMaxPartBytes
	}
	uids := imap.UIDSetNum(uid)
	var header []byte
	var bs imap.BodyStructure
	headerSection := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
	err := s.run(StepServer, func() error {
		cmd := s.client.Fetch(uids, &imap.FetchOptions{UID: true, BodyStructure: &imap.FetchItemBodyStructure{Extended: true}, BodySection: []*imap.FetchItemBodySection{headerSection}})
		defer cmd.Close()
		for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
			for item := msg.Next(); item != nil; item = msg.Next() {
				switch it := item.(type) {
				case imapclient.FetchItemDataBodyStructure:
					bs = it.BodyStructure
				case imapclient.FetchItemDataBodySection:
					if it.Literal != nil {
						header, _ = io.ReadAll(io.LimitReader(it.Literal, maxHeaderBytes))
					}
				}
			}
		}
		return cmd.Close()
	}, "The mail server could not send a large message's structure.")
	if err != nil || header == nil || bs == nil {
		return nil, nil, err
	}

	type textPart struct {
		path []int
		part *imap.BodyStructureSinglePart
	}
	var parts []textPart
	if single, ok := bs.(*imap.BodyStructureSinglePart); ok {
		parts = append(parts, textPart{path: []int{1}, part: single})
	} else {
		bs.Walk(func(path []int, p imap.BodyStructure) bool {
			if len(parts) >= 20 || len(path) > maxMIMEDepth {
				return false
			}
			single, ok := p.(*imap.BodyStructureSinglePart)
			if !ok {
				return true
			}
			mt := strings.ToLower(single.MediaType())
			if disp := single.Disposition(); disp != nil && strings.EqualFold(disp.Value, "attachment") && mt != "text/calendar" {
				return false
			}
			if mt == "text/plain" || mt == "text/html" || mt == "text/calendar" {
				parts = append(parts, textPart{path: append([]int(nil), path...), part: single})
			}
			return false
		})
	}

	sections := make([]*imap.FetchItemBodySection, len(parts))
	for i, p := range parts {
		sections[i] = &imap.FetchItemBodySection{Part: p.path, Peek: true, Partial: &imap.SectionPartial{Offset: 0, Size: partCap}}
	}
	bodies := make([][]byte, len(parts))
	if len(parts) > 0 {
		err = s.run(StepServer, func() error {
			cmd := s.client.Fetch(uids, &imap.FetchOptions{UID: true, BodySection: sections})
			defer cmd.Close()
			for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
				s.arm()
				for item := msg.Next(); item != nil; item = msg.Next() {
					it, ok := item.(imapclient.FetchItemDataBodySection)
					if !ok || it.Literal == nil {
						continue
					}
					for i, sec := range sections {
						if it.MatchCommand(sec) && bodies[i] == nil {
							bodies[i], _ = io.ReadAll(io.LimitReader(it.Literal, partCap+1))
							break
						}
					}
				}
			}
			return cmd.Close()
		}, "The mail server could not send a large message's text.")
		if err != nil {
			return nil, nil, err
		}
	}

	// Rebuild: the original header with a new multipart/mixed body.
	boundary := "frontdesk-" + rawMessageID(header)[7:31]
	out := bytes.NewBuffer(nil)
	skipping := false
	for _, line := range strings.SplitAfter(string(header), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if !skipping {
				out.WriteString(line)
			}
			continue
		}
		l := strings.ToLower(line)
		skipping = strings.HasPrefix(l, "content-type:") || strings.HasPrefix(l, "content-transfer-encoding:") ||
			strings.HasPrefix(l, "mime-version:")
		if !skipping {
			out.WriteString(line)
		}
	}
	if out.Len() > 0 && !bytes.HasSuffix(out.Bytes(), []byte("\n")) {
		out.WriteString("\r\n")
	}
	fmt.Fprintf(out, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=%q\r\n\r\n", boundary)
	for i, p := range parts {
		if bodies[i] == nil {
			continue
		}
		params := ""
		for k, v := range p.part.Params {
			params += fmt.Sprintf("; %s=%q", k, v)
		}
		fmt.Fprintf(out, "--%s\r\nContent-Type: %s%s\r\n", boundary, strings.ToLower(p.part.MediaType()), params)
		if p.part.Encoding != "" {
			fmt.Fprintf(out, "Content-Transfer-Encoding: %s\r\n", p.part.Encoding)
		}
		out.WriteString("\r\n")
		out.Write(bodies[i])
		out.WriteString("\r\n")
	}
	fmt.Fprintf(out, "--%s--\r\n", boundary)
	return out.Bytes(), []string{"The message is very large; only its text was downloaded, attachments stay in the mailbox."}, nil
}
