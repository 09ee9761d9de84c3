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
	// BatchSize is how many messages are fetched per command, and written
	// (and then marked on the server) together. Default 500.
	BatchSize int
	// Progress, if set, is called after each message, on Sync's goroutine.
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
	// batchBytes bounds a batch's small messages. Two batches may be held
	// at once (one being saved, the next being downloaded).
	batchBytes = 8 << 20
)

// Sync imports the messages that arrived since the last pass. It only
// reads (BODY.PEEK: nothing is marked seen, nothing is deleted), adds the
// account's keyword to imported messages and, if MoveTo is set, moves
// them there. Progress is saved after each message, so an interrupted pass
// continues where it stopped. A changed UIDVALIDITY restarts from the
// first message, and Message-IDs keep requests from being imported twice.
//
// Downloading, parsing and saving overlap; st and opts.Progress are only
// used from the calling goroutine, one call at a time. Messages are marked
// (and moved) a batch at a time once the batch is written, between two
// download commands; what an interrupted pass left unmarked is marked at
// the start of the next one.
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
	if last > 0 {
		if err := markUnmarked(s, a, last); err != nil {
			return rep, err
		}
	}

	// 1. What is new: UID and size (and, after a renumbering, the envelope
	// for its Message-ID) only. Not the internal date: Dovecot reads it
	// from each file (20 ms for 2,000 messages, more than all the rest of
	// this list), and a request only needs it when its Date header is
	// missing or unreadable; fetch asks for those few.
	var todo []newMessage
	var set imap.UIDSet
	set.AddRange(imap.UID(last+1), 0) // last+1:*
	err = s.run(StepServer, func() error {
		cmd := s.client.Fetch(set, &imap.FetchOptions{UID: true, RFC822Size: true, Envelope: resync})
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
			m := newMessage{uid: buf.UID, size: buf.RFC822Size}
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
	if len(todo) == 0 {
		return rep, nil
	}

	// Known already (e.g. after a UIDVALIDITY change): no download.
	var known map[imap.UID]bool
	if resync {
		known = map[imap.UID]bool{}
		for _, m := range todo {
			if m.messageID != "" && st.HasMessageID(strings.Trim(m.messageID, "<>")) {
				known[m.uid] = true
			}
		}
	}

	// 2. Download, parse and save as a pipeline, so the network, the
	// parsing and the saving overlap: a fetcher goroutine downloads batch
	// after batch and hands each message to parse workers; this goroutine
	// saves the parsed messages in UID order, writes each batch with its
	// position (Flush), then hands its UIDs back to the fetcher, which
	// marks (and moves) them between two FETCH commands. At most two
	// batches are held in memory: the one being saved and the one being
	// downloaded.
	ends := batchEnds(todo, opts)
	p := &pipeline{
		s: s, a: a, opts: opts, known: known,
		batches: make(chan []*syncItem, 1),
		marks:   make(chan []imap.UID, len(ends)), // the saver never waits
		stop:    make(chan struct{}),
		failed:  make(chan struct{}),
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.fetchErr = p.fetch(todo, ends)
	}()
	saveErr := p.save(ctx, st, validity, len(todo), &rep)
	if saveErr != nil {
		close(p.stop)
	}
	close(p.marks)
	wg.Wait()
	if saveErr != nil && !errors.Is(saveErr, errFetchFailed) {
		return rep, saveErr
	}
	return rep, p.fetchErr
}

// newMessage is a message listed as new: its UID and size, and from the
// envelope (only after a renumbering) its Message-ID and subject. date is
// its internal date, fetched only when the request needs it.
type newMessage struct {
	uid       imap.UID
	size      int64
	messageID string
	subject   string
	date      time.Time
}

// syncItem is one message on its way through the import pipeline. The
// fetcher (and a parse worker) fill it in, then close done; only then does
// the saver read it.
type syncItem struct {
	m        newMessage
	known    bool   // its Message-ID was imported before: not downloaded
	raw      []byte // nil when it could not be downloaded
	problems []string
	req      Request
	parsed   bool // req holds ParseRequest(raw)
	// needDate: the request has no date of its own, so the message's
	// internal date is fetched after the batch's download.
	needDate bool
	parsing  *sync.WaitGroup // the batch's messages being parsed
	done     chan struct{}
}

// errFetchFailed stops the saver when the fetcher failed; Sync then
// returns the fetcher's error.
var errFetchFailed = errors.New("mailbox: the download stopped")

// pipeline is one Sync pass's download (fetch, on its own goroutine, the
// only one to use the connection) and save (on Sync's goroutine, the only
// one to use the State).
type pipeline struct {
	s     *session
	a     Account
	opts  SyncOptions
	known map[imap.UID]bool

	batches chan []*syncItem // fetcher → saver, in UID order
	marks   chan []imap.UID  // saver → fetcher: batches written, to mark; closed by the saver
	stop    chan struct{}    // closed when the saver stopped early
	failed  chan struct{}    // closed when the fetcher failed

	fetchErr error
}

// batchEnds splits todo into batches: each holds at most BatchSize
// messages and batchBytes of small messages, so memory stays bounded
// whatever the mailbox holds. It returns where each batch ends.
func batchEnds(todo []newMessage, opts SyncOptions) []int {
	var ends []int
	for start := 0; start < len(todo); {
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
		ends = append(ends, end)
		start = end
	}
	return ends
}

// fetch downloads every message of todo, batch by batch (ends), and marks
// the batches the saver has written.
func (p *pipeline) fetch(todo []newMessage, ends []int) (err error) {
	s, opts := p.s, p.opts
	jobs := make(chan *syncItem, 64)
	var workers sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for it := range jobs {
				it.req = ParseRequest(it.raw, opts.Parse)
				it.parsed = true
				if it.req.Received.IsZero() {
					it.needDate = true // done once the date is known
				} else {
					close(it.done)
				}
				it.parsing.Done()
			}
		}()
	}
	defer func() {
		close(jobs)
		workers.Wait()
		close(p.batches)
		if err != nil {
			close(p.failed) // the saver stops at the first message not downloaded
		}
		// Mark what the saver wrote, even after it stopped early; not
		// after a failure, when the connection is gone.
		for uids := range p.marks {
			if err == nil {
				err = p.mark(uids)
			}
		}
	}()

	start := 0
	for _, end := range ends {
		batch := make([]*syncItem, 0, end-start)
		var small imap.UIDSet
		byUID := map[imap.UID]*syncItem{}
		var parsing sync.WaitGroup
		for _, m := range todo[start:end] {
			it := &syncItem{m: m, known: p.known[m.uid], parsing: &parsing, done: make(chan struct{})}
			batch = append(batch, it)
			switch {
			case it.known:
				close(it.done)
			case m.size <= opts.LargeMessageBytes:
				small.AddNum(m.uid)
				byUID[m.uid] = it
			}
		}
		start = end
		select {
		case p.batches <- batch:
		case <-p.stop:
			return nil
		}

		// Small messages: whole, streamed one at a time to the parse
		// workers while the server sends the rest.
		stopped := false
		if len(small) > 0 {
			err := s.run(StepServer, func() error {
				cmd := s.client.Fetch(small, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
				defer cmd.Close()
				for !stopped {
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
								raw = readLiteral(it.Literal, opts.LargeMessageBytes+1)
							}
						}
					}
					it, ok := byUID[uid]
					if !ok || raw == nil {
						continue
					}
					it.raw = raw
					// Waiting for a parse worker is not waiting for the
					// server: no deadline meanwhile.
					s.disarm()
					parsing.Add(1)
					select {
					case jobs <- it:
						delete(byUID, uid)
					case <-p.stop:
						parsing.Done()
						stopped = true
					}
				}
				return cmd.Close()
			}, "The mail server stopped sending messages.")
			if err != nil || stopped {
				return err
			}
		}
		// Gone or unreadable on the server: the saver keeps a placeholder.
		for _, it := range byUID {
			it.raw = nil
			it.needDate = true
		}

		// Large messages: header and text parts only.
		for _, it := range batch {
			if it.m.size <= opts.LargeMessageBytes || it.known {
				continue
			}
			select {
			case <-p.stop:
				return nil
			default:
			}
			raw, problems, err := s.fetchLarge(it.m.uid, opts)
			if err != nil {
				return err
			}
			it.raw, it.problems = raw, problems
			if raw != nil {
				it.req, it.parsed = ParseRequest(raw, opts.Parse), true
			}
			it.needDate = !it.parsed || it.req.Received.IsZero()
			if !it.needDate {
				close(it.done)
			}
		}

		// Internal dates for the requests without a date of their own.
		parsing.Wait()
		if err := p.fetchDates(batch); err != nil {
			return err
		}

		// Mark the batches written meanwhile.
		if err := p.markWritten(); err != nil {
			return err
		}
	}
	return nil
}

// fetchDates fetches the internal date of the batch's messages that need
// it, then lets the saver have them.
func (p *pipeline) fetchDates(batch []*syncItem) error {
	s := p.s
	var uids imap.UIDSet
	byUID := map[imap.UID]*syncItem{}
	for _, it := range batch {
		if it.needDate {
			uids.AddNum(it.m.uid)
			byUID[it.m.uid] = it
		}
	}
	if len(byUID) == 0 {
		return nil
	}
	err := s.run(StepServer, func() error {
		cmd := s.client.Fetch(uids, &imap.FetchOptions{UID: true, InternalDate: true})
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
			if it, ok := byUID[buf.UID]; ok {
				it.m.date = buf.InternalDate
			}
		}
		return cmd.Close()
	}, "The mail server could not send the messages' dates.")
	if err != nil {
		return err
	}
	for _, it := range byUID {
		close(it.done) // a message gone meanwhile keeps no date
	}
	return nil
}

// markWritten marks the batches the saver has written so far, without
// waiting for more.
func (p *pipeline) markWritten() error {
	for {
		select {
		case uids, ok := <-p.marks:
			if !ok {
				return nil
			}
			if err := p.mark(uids); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

// mark adds the account's keyword to imported messages and, if MoveTo is
// set, moves them there.
func (p *pipeline) mark(imported []imap.UID) error {
	if len(imported) == 0 {
		return nil
	}
	return markImported(p.s, p.a, imap.UIDSetNum(imported...))
}

// markUnmarked marks (and moves) what an interrupted pass imported, up to
// UID last, but did not get to mark: the pipeline marks a batch only after
// it is written, so the app closing or the network dropping in between
// leaves it unmarked. One search, nothing to do in the usual case.
func markUnmarked(s *session, a Account, last uint32) error {
	var done imap.UIDSet
	done.AddRange(1, imap.UID(last))
	var unmarked []imap.UID
	err := s.run(StepServer, func() error {
		data, err := s.client.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{done}, NotFlag: []imap.Flag{imap.Flag(a.Keyword)}}, nil).Wait()
		if err != nil {
			return err
		}
		unmarked = data.AllUIDs()
		return nil
	}, "The mail server could not search the folder for messages without %s.", a.Keyword)
	if err != nil || len(unmarked) == 0 {
		return err
	}
	return markImported(s, a, imap.UIDSetNum(unmarked...))
}

// markImported adds the account's keyword to uids and, if MoveTo is set,
// moves them there.
func markImported(s *session, a Account, uids imap.UIDSet) error {
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

// readLiteral reads a message literal, at most limit bytes, into a buffer
// of the size the server announced.
func readLiteral(lit imap.LiteralReader, limit int64) []byte {
	n := lit.Size()
	if n > limit {
		n = limit
	}
	if n < 0 {
		n = 0
	}
	buf := make([]byte, n)
	got, _ := io.ReadFull(lit, buf)
	return buf[:got]
}

// save saves the fetched messages in UID order, writes each batch with the
// folder's position and hands its UIDs to the fetcher to mark.
func (p *pipeline) save(ctx context.Context, st State, validity uint32, total int, rep *SyncReport) error {
	a, opts := p.a, p.opts
	done := 0
	var imported []imap.UID
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
	for batch := range p.batches {
		for _, it := range batch {
			if err := ctx.Err(); err != nil {
				return newError(StepTimeout, err, "Checking the mailbox was stopped.")
			}
			select {
			case <-it.done:
			default:
				select {
				case <-it.done:
				case <-p.failed:
					return errFetchFailed
				}
			}
			if it.known {
				rep.Duplicates++
				if err := finishOne(it.m.uid); err != nil {
					return err
				}
				continue
			}
			m, raw, problems := it.m, it.raw, it.problems
			it.raw = nil // the batch no longer holds it once saved
			if raw == nil {
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
			var r Request
			if it.parsed {
				r = it.req
			} else {
				r = ParseRequest(raw, opts.Parse)
			}
			if r.MessageID == "" {
				r.MessageID = rawMessageID(raw)
			}
			if st.HasMessageID(r.MessageID) {
				rep.Duplicates++
				if err := finishOne(m.uid); err != nil {
					return err
				}
				continue
			}
			if r.Received.IsZero() {
				r.Received = m.date
			}
			r.Folder, r.UID, r.UIDValidity = a.Folder, uint32(m.uid), validity
			for _, pr := range problems {
				r.Problems = append(r.Problems, pr)
				r.NeedsReview = true
			}
			if err := st.SaveRequest(r, raw); err != nil {
				return fmt.Errorf("mailbox: saving a request: %w", err)
			}
			rep.New++
			if r.NeedsReview {
				rep.NeedsReview++
			}
			if err := finishOne(m.uid); err != nil {
				return err
			}
		}
		// The batch is on disk before the server is told it was imported.
		if err := flushState(st); err != nil {
			return err
		}
		p.marks <- imported
		imported = nil
	}
	return nil
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
