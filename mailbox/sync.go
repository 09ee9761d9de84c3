package mailbox

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"runtime"
	"slices"
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
// a State must write a position only with the requests before it. Flush
// may run on another goroutine while Sync saves the next requests (one
// Flush at a time): it writes what was saved when it starts.
type Flusher interface {
	Flush() error
}

// SyncOptions tune Sync. The zero value works.
type SyncOptions struct {
	Parse ParseOptions
	// LargeMessageBytes: messages larger than this are not downloaded
	// whole; only their header and text parts are. Default 2 MiB.
	LargeMessageBytes int64
	// BatchSize is how many requests are written together (one
	// transaction with the sync position). Default 500.
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
	// batchBytes: a batch is also written once its messages reach this
	// size. At most two batches' worth is held (pipelineBytes).
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
// used from the calling goroutine, one call at a time. The messages
// imported are marked (and moved) in one command once they are all
// written; what an interrupted pass left unmarked is marked at the start
// of the next one.
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

	// 1. What is new. Usually one UID SEARCH (the server's index answers
	// it); after a renumbering, the envelopes too, so that Message-IDs
	// let known messages be skipped without downloading them.
	todo, err := listNew(s, last, resync)
	if err != nil {
		return rep, err
	}
	if len(todo) == 0 {
		return rep, nil
	}
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
	// parsing and the saving overlap. A fetcher goroutine downloads the
	// new messages (FETCH commands of fetchChunk UIDs, one after the
	// other) and hands them to parse workers, jobGroup at a time; this
	// goroutine saves them in UID order and writes them in batches with
	// the sync position (Flush, on its own goroutine while the next batch
	// is saved). Large messages are not downloaded in the stream: their
	// text parts are fetched after it, as are the internal dates of
	// requests without a date, and the saver keeps going meanwhile. The
	// messages saved are marked (and moved) in one command at the end.
	// Memory stays bounded: the messages held (downloaded, not yet
	// written) never exceed pipelineBytes.
	defer relaxGCForImport()()
	p := &pipeline{
		s: s, a: a, opts: opts, known: known,
		items:     make(chan *syncItem, 256),
		budget:    newByteBudget(pipelineBytes),
		failed:    make(chan struct{}),
		datesDone: make(chan struct{}),
		datesIn:   make(chan struct{}, 1),
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.fetchErr = p.fetch(todo)
	}()
	imported, saveErr := p.save(ctx, st, validity, len(todo), &rep)
	// A fetcher waiting for room or for the saver stops; it reads what it
	// asked for and drops it. What was written is marked at the next pass.
	p.budget.close()
	wg.Wait()
	if saveErr != nil && !errors.Is(saveErr, errFetchFailed) {
		return rep, saveErr
	}
	if p.fetchErr != nil {
		return rep, p.fetchErr
	}
	if len(imported) > 0 {
		if err := markImported(s, a, imap.UIDSetNum(imported...)); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

const (
	// pipelineBytes bounds the messages downloaded and not yet written.
	pipelineBytes = 2 * batchBytes
	// minWrite: once the previous batch is on disk, the requests saved
	// meanwhile are written as soon as there are this many, so the writer
	// keeps pace with the download and little is left to write at the
	// end. (Waiting for full batches of 500 left three writes, ~60 ms,
	// after the download; a transaction has a fixed cost of ~1 ms.)
	minWrite = 64
)

// listNew returns the messages above UID last, in UID order: UIDs only,
// or after a renumbering (resync) with the envelope's Message-ID and
// subject.
func listNew(s *session, last uint32, resync bool) ([]newMessage, error) {
	var todo []newMessage
	var set imap.UIDSet
	set.AddRange(imap.UID(last+1), 0) // last+1:*
	if !resync {
		err := s.run(StepServer, func() error {
			data, err := s.client.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{set}}, s.searchAll()).Wait()
			if err != nil {
				return err
			}
			for _, uid := range data.AllUIDs() {
				// UID n:* matches the highest message even below n.
				if uint32(uid) > last {
					todo = append(todo, newMessage{uid: uid})
				}
			}
			return nil
		}, "The mail server could not list the new messages.")
		slices.SortFunc(todo, func(a, b newMessage) int { return cmp.Compare(a.uid, b.uid) })
		return todo, err
	}
	err := s.run(StepServer, func() error {
		return s.fetchEach(set, &imap.FetchOptions{UID: true, Envelope: true}, func(buf *imapclient.FetchMessageBuffer) {
			if uint32(buf.UID) <= last {
				return // UID n:* matches the highest message even below n
			}
			m := newMessage{uid: buf.UID}
			if buf.Envelope != nil {
				m.messageID = strings.TrimSpace(buf.Envelope.MessageID)
				m.subject = buf.Envelope.Subject
			}
			todo = append(todo, m)
		})
	}, "The mail server could not list the new messages.")
	slices.SortFunc(todo, func(a, b newMessage) int { return cmp.Compare(a.uid, b.uid) })
	return todo, err
}

// searchAll asks a server that can (ESEARCH, RFC 4731) for the UIDs found
// as ranges ("1:2000") rather than one number per message: 2,000 UIDs are
// listed in ~1.5 ms instead of ~2.5 ms. Other servers get a plain SEARCH.
func (s *session) searchAll() *imap.SearchOptions {
	if caps := s.client.Caps(); caps.Has(imap.CapESearch) || caps.Has(imap.CapIMAP4rev2) {
		return &imap.SearchOptions{ReturnAll: true}
	}
	return nil
}

// newMessage is a message listed as new: its UID and, from the envelope
// (only after a renumbering), its Message-ID and subject. The download
// adds its size (counted up to LargeMessageBytes+1) and internal date.
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
	large    bool   // over LargeMessageBytes: only its text parts, after the stream
	raw      []byte // nil when it could not be downloaded
	held     int64  // bytes of the pipeline's budget it holds until written
	problems []string
	req      Request
	parsed   bool // req holds ParseRequest(raw)
	// needDate: the request has no date of its own; the saver waits for
	// its internal date (datesDone) before saving it.
	needDate bool
	// dated is closed once the internal date of a message without a
	// Date field is in: the fetcher asks for the dates of those right
	// after their FETCH command. Nil for a message with a Date field.
	dated chan struct{}
	done  chan struct{}
}

// errFetchFailed stops the saver when the fetcher failed; Sync then
// returns the fetcher's error.
var errFetchFailed = errors.New("mailbox: the download stopped")

// pipeline is one Sync pass's download (fetch, on its own goroutine, the
// only one to use the connection until it returns) and save (on Sync's
// goroutine, the only one to use the State).
type pipeline struct {
	s     *session
	a     Account
	opts  SyncOptions
	known map[imap.UID]bool

	items     chan *syncItem // fetcher → saver, in UID order; closed by the fetcher
	budget    *byteBudget    // bytes downloaded and not yet written
	failed    chan struct{}  // closed when the fetcher failed
	datesDone chan struct{}  // closed when the undated messages have their internal dates
	datesIn   chan struct{}  // signalled when a command's messages without a Date field have their dates

	undatedMu sync.Mutex
	undated   []*syncItem // parsed requests without a date of their own

	fetchErr error
}

// needsDate marks it as a request without a date of its own: the
// fetcher asks the server for its internal date once the download is
// done (rare, and in the download it would cost every message: Dovecot
// reads each file's date).
func (p *pipeline) needsDate(it *syncItem) {
	it.needDate = true
	p.budget.pin(it.held)
	p.undatedMu.Lock()
	p.undated = append(p.undated, it)
	p.undatedMu.Unlock()
}

// fetch downloads the messages of todo and hands them to the parse
// workers and, in UID order, to the saver; then the text parts of the
// large ones, then the internal dates of those without a date.
func (p *pipeline) fetch(todo []newMessage) (err error) {
	s, opts := p.s, p.opts
	jobs := make(chan []*syncItem, 16)
	var workers sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for group := range jobs {
				for _, it := range group {
					it.req, it.parsed = ParseRequest(it.raw, opts.Parse), true
					if it.req.Received.IsZero() && it.dated == nil {
						p.needsDate(it)
					}
					close(it.done)
				}
			}
		}()
	}
	// group gathers messages for the parse workers: they are handed over
	// jobGroup at a time, and whenever the fetcher is about to wait for
	// the saver (which may be waiting for one of them) and after each
	// FETCH command.
	group := make([]*syncItem, 0, jobGroup)
	sendGroup := func() bool {
		if len(group) == 0 {
			return true
		}
		select {
		case jobs <- group:
			group = make([]*syncItem, 0, jobGroup)
			return true
		case <-p.budget.stopped:
			return false
		}
	}
	jobsOpen := true
	closeJobs := func() {
		if jobsOpen {
			sendGroup()
			close(jobs)
			workers.Wait()
			jobsOpen = false
		}
	}
	defer func() {
		closeJobs()
		if err != nil {
			close(p.failed) // the saver stops at the first message not downloaded
		}
		close(p.items)
	}()

	index := make(map[imap.UID]int, len(todo))
	var want imap.UIDSet
	for i, m := range todo {
		index[m.uid] = i
		if !p.known[m.uid] {
			want.AddNum(m.uid)
		}
	}
	// next is the first message of todo not yet handed to the saver.
	next := 0
	handOn := func(it *syncItem) bool {
		select {
		case p.items <- it:
			return true
		default:
		}
		// The saver is behind: it may be waiting for a message of the group.
		if !sendGroup() {
			return false
		}
		select {
		case p.items <- it:
			return true
		case <-p.budget.stopped:
			return false
		}
	}
	// passTo hands the saver the messages of todo before index k: known
	// ones, and ones the server did not send (gone meanwhile), for which
	// the saver keeps a placeholder.
	passTo := func(k int) bool {
		for ; next < k; next++ {
			it := &syncItem{m: todo[next], known: p.known[todo[next].uid], done: make(chan struct{})}
			close(it.done)
			if !handOn(it) {
				return false
			}
		}
		return true
	}
	var large []*syncItem
	// undated are the messages of the command under way without a Date
	// field: their internal dates are asked for after it.
	var undated []*syncItem
	// take hands on a downloaded message; false once the saver stopped.
	take := func(it *syncItem) bool {
		k, ok := index[it.m.uid]
		if !ok || k < next {
			// Not asked for, or (from a server that does not answer in
			// UID order) already kept as a placeholder.
			p.budget.release(it.held)
			return true
		}
		if !passTo(k) {
			return false
		}
		next = k + 1
		it.m.messageID, it.m.subject = todo[k].messageID, todo[k].subject
		switch {
		case it.m.size > opts.LargeMessageBytes:
			p.budget.release(it.held)
			it.raw, it.held, it.large = nil, 0, true
			large = append(large, it)
		case it.raw != nil:
			if !hasDateField(it.raw) {
				it.dated = make(chan struct{})
				undated = append(undated, it)
				p.budget.pin(it.held)
			}
			group = append(group, it)
			if len(group) == jobGroup && !sendGroup() {
				return false
			}
		default:
			p.needsDate(it) // no body: a placeholder, dated by the server
			close(it.done)
		}
		return handOn(it)
	}
	stopped := false
	if len(want) > 0 {
		// The messages are asked for in commands of fetchChunk UIDs, one
		// after the other. A pass that stops early reads (and drops) the
		// rest of the command under way: go-imap leaves no safe way to
		// walk away from a FETCH mid-way. (Sending the next command
		// before the last is read would save a round trip per chunk, but
		// Dovecot answers such FETCH commands interleaved, and go-imap's
		// reader then waits on the command not being read: a deadlock.)
		chunks := fetchChunks(want)
		//
		// Each message's first LargeMessageBytes+1 bytes are asked for:
		// the literal's length, announced before it, tells a large
		// message (more than LargeMessageBytes) from the others, whose
		// body comes whole. Asking RFC822.SIZE instead cost Dovecot ~22
		// ms of CPU per 2,000 messages, a tenth of the import: where the
		// file name does not give it (as in mail delivered by other
		// means), it reads each message to count its lines.
		fetchOpts := &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{
			{Peek: true, Partial: &imap.SectionPartial{Offset: 0, Size: opts.LargeMessageBytes + 1}}}}
		// fetchOne reads one command's messages.
		fetchOne := func(uids imap.UIDSet) (err error) {
			cmd := s.client.Fetch(uids, fetchOpts)
			defer func() {
				if errors.As(err, new(errBrokenLiteral)) {
					return // the connection is gone; see errBrokenLiteral
				}
				if cerr := cmd.Close(); err == nil {
					err = cerr
				}
			}()
			for {
				s.arm()
				msg := cmd.Next()
				if msg == nil {
					return nil
				}
				it, err := p.readMessage(msg, &stopped, func() {
					if !sendGroup() {
						stopped = true
					}
				})
				// The message is in; what follows waits for the parse
				// workers and the saver, not for the server: no deadline
				// until the next message is asked for.
				s.disarm()
				if err != nil || stopped {
					p.budget.release(it.held)
					if err != nil {
						return err
					}
					continue // read the rest of what was asked for
				}
				if !take(it) {
					stopped = true
				}
			}
		}
		err := s.run(StepServer, func() error {
			for _, uids := range chunks {
				if stopped {
					return nil
				}
				err := fetchOne(uids)
				if !sendGroup() {
					stopped = true
				}
				if err != nil {
					return err
				}
				if !stopped {
					if err := p.fetchInternalDates(undated); err != nil {
						return err
					}
					for _, it := range undated {
						p.budget.unpin(it.held)
						close(it.dated)
					}
					if len(undated) > 0 {
						select {
						case p.datesIn <- struct{}{}: // the saver saves them now
						default: // it will anyway
						}
					}
				}
				undated = nil
			}
			return nil
		}, "The mail server stopped sending messages.")
		if err != nil {
			return err
		}
	}
	if stopped || !passTo(len(todo)) {
		return nil
	}

	// Large messages: header and text parts only.
	for _, it := range large {
		if p.budget.isStopped() {
			return nil
		}
		raw, problems, err := s.fetchLarge(it.m.uid, opts)
		if err != nil {
			return err
		}
		it.raw, it.problems = raw, problems
		if raw != nil {
			it.req, it.parsed = ParseRequest(raw, opts.Parse), true
		}
		if !it.parsed || it.req.Received.IsZero() {
			p.needsDate(it)
		}
		close(it.done)
	}

	// Internal dates for the requests without a date of their own, once
	// every message is parsed.
	closeJobs()
	if err := p.fetchDates(); err != nil {
		return err
	}
	for _, it := range p.undated {
		p.budget.unpin(it.held)
	}
	close(p.datesDone)
	return nil
}

// fetchDates fetches the internal dates of the messages whose request
// turned out to have no date (needsDate), once all are parsed.
func (p *pipeline) fetchDates() error {
	return p.s.run(StepServer, func() error { return p.fetchInternalDates(p.undated) },
		"The mail server could not send the messages' dates.")
}

// fetchInternalDates sets the internal date of items, in one FETCH. A
// message gone meanwhile keeps none.
func (p *pipeline) fetchInternalDates(items []*syncItem) error {
	if len(items) == 0 {
		return nil
	}
	var uids imap.UIDSet
	byUID := make(map[imap.UID]*syncItem, len(items))
	for _, it := range items {
		uids.AddNum(it.m.uid)
		byUID[it.m.uid] = it
	}
	return p.s.fetchEach(uids, &imap.FetchOptions{UID: true, InternalDate: true}, func(buf *imapclient.FetchMessageBuffer) {
		if it, ok := byUID[buf.UID]; ok {
			it.m.date = buf.InternalDate
		}
	})
}

// hasDateField reports whether the header of raw has a Date field. A
// message without one gets no date from ParseRequest, so its internal
// date is asked for right after its FETCH command rather than after the
// whole download, and the saver need not hold it (and the position
// behind it) till the end. It only decides when the date is asked for:
// a Date field ParseRequest cannot read is found by the parse worker
// (needsDate), and a date asked for needlessly is not used.
func hasDateField(raw []byte) bool {
	for i := 0; i < len(raw); {
		line, next := headerLine(raw, i)
		if len(line) == 0 {
			return false // the end of the header
		}
		if len(line) >= 5 && (line[0] == 'D' || line[0] == 'd') {
			if colon := bytes.IndexByte(line, ':'); colon >= 4 &&
				strings.EqualFold(string(bytes.TrimRight(line[:colon], " \t")), "date") {
				return true
			}
		}
		i = next
	}
	return false
}

// fetchEach runs one FETCH of small items (no bodies) and hands fn each
// message's data, the deadline armed for each message.
func (s *session) fetchEach(uids imap.UIDSet, opts *imap.FetchOptions, fn func(*imapclient.FetchMessageBuffer)) error {
	cmd := s.client.Fetch(uids, opts)
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
		fn(buf)
	}
	return cmd.Close()
}

// isClosed reports whether ch is nil or closed.
func isClosed(ch chan struct{}) bool {
	if ch == nil {
		return true
	}
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// readMessage reads one message of the download: its UID, its size (up to
// LargeMessageBytes+1, from the length of the partial body) and, unless it
// is large or the pass stopped, its body, in room taken from the budget. A
// body not read is dropped by go-imap when the next item is asked for.
// flush hands on what the fetcher holds before it waits for room.
func (p *pipeline) readMessage(msg *imapclient.FetchMessageData, stopped *bool, flush func()) (*syncItem, error) {
	s, limit := p.s, p.opts.LargeMessageBytes
	it := &syncItem{done: make(chan struct{})}
	for item := msg.Next(); item != nil; item = msg.Next() {
		switch d := item.(type) {
		case imapclient.FetchItemDataUID:
			it.m.uid = d.UID
		case imapclient.FetchItemDataBodySection:
			if d.Literal == nil {
				continue
			}
			it.m.size = d.Literal.Size()
			if *stopped || it.m.size > limit {
				// Large (its text parts come after the stream), or the
				// pass stopped: read past it here, so that a failure is
				// seen (go-imap would skip it in msg.Next, unchecked).
				if err := skipLiteral(d.Literal); err != nil {
					return it, err
				}
				continue
			}
			// Wait for room before reading: the literal's size is
			// announced first. Waiting for the saver is not waiting for
			// the server: no deadline meanwhile.
			n := it.m.size
			ok := p.budget.tryAcquire(n)
			if !ok {
				// The saver frees room by writing, and it may be
				// waiting for a message the fetcher holds.
				flush()
				s.disarm()
				ok = p.budget.acquire(n)
				s.arm()
			}
			if !ok {
				*stopped = true
				if err := skipLiteral(d.Literal); err != nil {
					return it, err
				}
				continue
			}
			it.held = n
			raw, err := readLiteral(d.Literal, limit)
			if err != nil {
				return it, err
			}
			it.raw = raw
		}
	}
	return it, nil
}

// jobGroup is how many messages the fetcher hands the parse workers at a
// time. One hand-over per message, each of which may wake a worker, cost
// ~6% of an import's CPU (2,000 messages, two cores).
const jobGroup = 8

// fetchChunk is how many messages one FETCH command asks for.
const fetchChunk = 1000

// lastChunk bounds the last FETCH command: what it brings in is saved
// after the download (the dates of its messages without a Date field come
// after it), so the smaller it is, the less is left to do at the end.
const lastChunk = 250

// fetchChunks splits the UIDs to download into FETCH commands of
// fetchChunk UIDs, the last one of at most lastChunk.
func fetchChunks(set imap.UIDSet) []imap.UIDSet {
	chunks := chunkUIDs(set, fetchChunk)
	n := len(chunks)
	if n == 0 {
		return nil
	}
	if size := uidCount(chunks[n-1]); size > lastChunk {
		head, tail := splitUIDs(chunks[n-1], size-lastChunk)
		chunks = append(chunks[:n-1], head, tail)
	}
	return chunks
}

// splitUIDs splits set into its first k UIDs and the rest.
func splitUIDs(set imap.UIDSet, k int) (head, tail imap.UIDSet) {
	for _, r := range set {
		switch n := int(r.Stop-r.Start) + 1; {
		case k <= 0:
			tail = append(tail, r)
		case n <= k:
			head = append(head, r)
			k -= n
		default:
			mid := r.Start + imap.UID(k)
			head = append(head, imap.UIDRange{Start: r.Start, Stop: mid - 1})
			tail = append(tail, imap.UIDRange{Start: mid, Stop: r.Stop})
			k = 0
		}
	}
	return head, tail
}

// uidCount is how many UIDs set holds (it has no "*").
func uidCount(set imap.UIDSet) int {
	n := 0
	for _, r := range set {
		n += int(r.Stop-r.Start) + 1
	}
	return n
}

// chunkUIDs splits a UID set into sets of at most n UIDs, in order.
func chunkUIDs(set imap.UIDSet, n int) []imap.UIDSet {
	var out []imap.UIDSet
	var cur imap.UIDSet
	count := 0
	for _, r := range set {
		for uid := r.Start; ; uid++ {
			cur.AddNum(uid)
			count++
			if count == n {
				out = append(out, cur)
				cur, count = nil, 0
			}
			if uid == r.Stop {
				break
			}
		}
	}
	if count > 0 {
		out = append(out, cur)
	}
	return out
}

// byteBudget bounds the bytes of downloaded messages held in memory. The
// fetcher acquires room for each message before reading it; the saver
// releases it once the message is written.
//
// Room held by a message waiting for its internal date is pinned: only
// the fetcher can free it (by fetching the dates after its command), so
// the fetcher must not wait for it. When nothing but pinned room stands
// in the way, the fetcher takes what it needs beyond the budget: memory
// then exceeds the budget by at most the pinned bytes (messages without a
// Date field, which real mail hardly ever is).
type byteBudget struct {
	mu      sync.Mutex
	cond    *sync.Cond
	free    int64 // negative when taken beyond the budget
	total   int64
	pinned  int64
	waiting int           // acquirers waiting for room
	wait    chan struct{} // signalled when an acquirer starts waiting
	stopped chan struct{} // closed by close: nobody waits any more
}

func newByteBudget(n int64) *byteBudget {
	b := &byteBudget{free: n, total: n, wait: make(chan struct{}, 1), stopped: make(chan struct{})}
	b.cond = sync.NewCond(&b.mu)
	return b
}

// tryAcquire takes n bytes of room if acquire would take them without
// waiting.
func (b *byteBudget) tryAcquire(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	ok, _ := b.take(n)
	return ok
}

// take takes n bytes of room if there is enough: n, or (for a message
// larger than the whole budget) all of it but the pinned room. closed is
// true once the budget is closed. b.mu must be held.
func (b *byteBudget) take(n int64) (ok, closed bool) {
	select {
	case <-b.stopped:
		return false, true
	default:
	}
	if b.free >= n || b.free >= b.total-b.pinned {
		b.free -= n
		return true, false
	}
	return false, false
}

// acquire waits for n bytes of room; false once the budget is closed. A
// message larger than the whole budget waits for all of it to be free,
// except the pinned room.
func (b *byteBudget) acquire(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		if ok, closed := b.take(n); ok || closed {
			return ok
		}
		select {
		case b.wait <- struct{}{}: // the saver writes what waits
		default:
		}
		b.waiting++
		b.cond.Wait()
		b.waiting--
	}
}

// isWaited reports whether an acquirer waits for room.
func (b *byteBudget) isWaited() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.waiting > 0
}

// pin marks n bytes of the room taken as held until the fetcher unpins
// them; unpin ends that.
func (b *byteBudget) pin(n int64) {
	b.mu.Lock()
	b.pinned += n
	b.mu.Unlock()
	b.cond.Broadcast()
}

func (b *byteBudget) unpin(n int64) {
	b.mu.Lock()
	b.pinned -= n
	b.mu.Unlock()
}

func (b *byteBudget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.free += n
	b.mu.Unlock()
	b.cond.Broadcast()
}

func (b *byteBudget) close() {
	b.mu.Lock()
	select {
	case <-b.stopped:
	default:
		close(b.stopped)
	}
	b.mu.Unlock()
	b.cond.Broadcast()
}

func (b *byteBudget) isStopped() bool {
	select {
	case <-b.stopped:
		return true
	default:
		return false
	}
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
		data, err := s.client.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{done}, NotFlag: []imap.Flag{imap.Flag(a.Keyword)}}, s.searchAll()).Wait()
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
// of the size the server announced. An error means the connection failed
// part way: the literal must not be read again (see errBrokenLiteral).
func readLiteral(lit imap.LiteralReader, limit int64) ([]byte, error) {
	n := lit.Size()
	if n > limit {
		n = limit
	}
	if n < 0 {
		n = 0
	}
	buf := make([]byte, n)
	got, err := io.ReadFull(lit, buf)
	if err != nil {
		return nil, errBrokenLiteral{err}
	}
	return buf[:got], nil
}

// errBrokenLiteral: reading a message's body failed part way (the
// connection dropped, or the pass was cancelled and the connection
// closed). go-imap hands the connection back to its reader goroutine at
// the first failed read, so reading that body again (which msg.Next,
// cmd.Next and cmd.Close do to skip it) would race with that goroutine;
// after this error the FETCH is abandoned as it is.
type errBrokenLiteral struct{ err error }

func (e errBrokenLiteral) Error() string {
	return "mailbox: a message's body was cut off: " + e.err.Error()
}
func (e errBrokenLiteral) Unwrap() error { return e.err }

// skipLiteral reads past a body that is not wanted.
func skipLiteral(lit imap.LiteralReader) error {
	if _, err := io.Copy(io.Discard, lit); err != nil {
		return errBrokenLiteral{err}
	}
	return nil
}

// save saves the downloaded messages in UID order and writes them in
// batches, each with the folder's position. A large message whose text is
// fetched after the stream is set aside meanwhile, and the position stays
// before it until it is saved. It returns the UIDs written, to be marked.
func (p *pipeline) save(ctx context.Context, st State, validity uint32, total int, rep *SyncReport) ([]imap.UID, error) {
	a, opts := p.a, p.opts
	var (
		imported     []imap.UID  // written
		pending      []*syncItem // saved, not yet written
		pendingBytes int64
		parked       []*syncItem // large, their text still coming
		highest      imap.UID    // highest UID saved
		done         int
	)
	position := func() uint32 {
		if len(parked) > 0 {
			return uint32(parked[0].m.uid) - 1
		}
		return uint32(highest)
	}
	// A batch is written on its own goroutine while the next one is
	// saved (at most one write at a time); its messages count as
	// imported, and their room in the budget is freed, once it is on
	// disk, before the server is told (at the end).
	var (
		writing   []*syncItem
		writeDone chan error
	)
	finishWrite := func(err error) error {
		if err == nil {
			for _, it := range writing {
				imported = append(imported, it.m.uid)
				p.budget.release(it.held)
			}
		}
		writing, writeDone = nil, nil
		return err
	}
	waitWrite := func() error {
		if writeDone == nil {
			return nil
		}
		return finishWrite(<-writeDone)
	}
	// writeBusy reports, without waiting, whether a write is under way.
	writeBusy := func() (bool, error) {
		if writeDone == nil {
			return false, nil
		}
		select {
		case err := <-writeDone:
			return false, finishWrite(err)
		default:
			return true, nil
		}
	}
	defer waitWrite() // nothing is left writing when Sync flushes and returns
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		if err := waitWrite(); err != nil {
			return err
		}
		writing, pending, pendingBytes = pending, nil, 0
		done := make(chan error, 1)
		writeDone = done
		go func() { done <- flushState(st) }()
		return nil
	}
	// wait waits for it to be downloaded and parsed.
	wait := func(it *syncItem) error {
		select {
		case <-it.done:
			return nil
		case <-p.failed:
			return errFetchFailed
		}
	}
	saveOne := func(it *syncItem) error {
		if err := ctx.Err(); err != nil {
			return newError(StepTimeout, err, "Checking the mailbox was stopped.")
		}
		if err := p.saveItem(st, it, validity, rep); err != nil {
			return err
		}
		highest = max(highest, it.m.uid)
		pending = append(pending, it)
		pendingBytes += it.held
		if err := st.SaveSyncState(a.Folder, validity, position()); err != nil {
			return fmt.Errorf("mailbox: saving the sync position: %w", err)
		}
		done++
		if opts.Progress != nil {
			opts.Progress(done, total)
		}
		full := len(pending) >= opts.BatchSize || pendingBytes >= batchBytes
		if !full && len(pending) >= minWrite {
			busy, err := writeBusy()
			if err != nil {
				return err
			}
			full = !busy
		}
		if full {
			return flush()
		}
		return nil
	}

	// ready reports whether a message set aside can be saved now.
	ready := func(it *syncItem) bool {
		return isClosed(it.done) && isClosed(it.dated) && (!it.needDate || isClosed(p.datesDone))
	}
	// saveReady saves the messages set aside that are ready now, oldest
	// first (their dates came after their FETCH command).
	saveReady := func() error {
		for len(parked) > 0 && ready(parked[0]) {
			first := parked[0]
			parked = parked[1:]
			if err := saveOne(first); err != nil {
				return err
			}
		}
		return nil
	}
	for {
		// While waiting for the next message: take back the room of a
		// batch written meanwhile, save the messages whose dates came, and
		// when the fetcher waits for room, write what waits (below
		// minWrite it would not be written till more come, and more
		// cannot come).
		var it *syncItem
		ok := true
		select {
		case it, ok = <-p.items:
		case err := <-writeDone: // nil, never ready, when no write is under way
			if err := finishWrite(err); err != nil {
				return imported, err
			}
		case <-p.datesIn:
			if err := saveReady(); err != nil {
				return imported, err
			}
		case <-p.budget.wait:
		}
		if it == nil && ok {
			if writeDone == nil && len(pending) > 0 && p.budget.isWaited() {
				if err := flush(); err != nil {
					return imported, err
				}
			}
			continue
		}
		if !ok {
			break
		}
		if it.large && !isClosed(it.done) {
			parked = append(parked, it)
			continue
		}
		if err := wait(it); err != nil {
			return imported, err
		}
		if it.needDate || !isClosed(it.dated) {
			parked = append(parked, it)
			continue
		}
		if err := saveReady(); err != nil {
			return imported, err
		}
		if err := saveOne(it); err != nil {
			return imported, err
		}
	}
	// The large messages, once their text is in, and the undated ones,
	// once their dates are.
	for len(parked) > 0 {
		it := parked[0]
		if err := wait(it); err != nil {
			return imported, err
		}
		if it.dated != nil {
			select {
			case <-it.dated:
			case <-p.failed:
				return imported, errFetchFailed
			}
		}
		if it.needDate {
			select {
			case <-p.datesDone:
			case <-p.failed:
				return imported, errFetchFailed
			}
		}
		parked = parked[1:]
		if err := saveOne(it); err != nil {
			return imported, err
		}
	}
	select {
	case <-p.failed:
		// What was saved is written (Sync flushes), not marked.
		return imported, errFetchFailed
	default:
	}
	if err := flush(); err != nil {
		return imported, err
	}
	return imported, waitWrite()
}

// saveItem saves one downloaded (or known, or missing) message as a
// request, or counts it as a duplicate.
func (p *pipeline) saveItem(st State, it *syncItem, validity uint32, rep *SyncReport) error {
	a, opts := p.a, p.opts
	if it.known {
		rep.Duplicates++
		return nil
	}
	m, raw, problems := it.m, it.raw, it.problems
	it.raw = nil // the pipeline no longer holds it once saved
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
		return nil
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
