# Front Desk. The README's two commands: `make run` and `make test`.
BINARY   := frontdesk
GO       ?= go
# migrated_fynedo: Fyne's threading model of 2.6+, so wrong-thread calls are caught.
# no_animations: a steady cursor and no button ripples; a blinking cursor redraws the
# window twice a second and cost ~10% of a core while the desk sits idle.
TAGS     := migrated_fynedo,no_animations
LOGIC    := ./storage/... ./forms/... ./mailbox/...
export GOFLAGS := -buildvcs=false

.PHONY: all deps deps-test deps-windows build run test test-logic test-ui smoke bench windows package screenshots clean

all: build

deps:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

deps-windows:
	@scripts/deps.sh windows

# The real cgo binary, as it runs on a desk.
build: deps
	$(GO) build -tags $(TAGS) -o $(BINARY) .

# Starts the window on the default store ($$FRONTDESK_DATA or the user's config folder).
run: build
	./$(BINARY) $(ARGS)

# Every test, then the real binary is built and started once under Xvfb, and
# the Windows .exe is cross-compiled so a Windows-breaking change cannot land.
test: deps deps-test test-logic test-ui build smoke windows

# Store, forms and mailbox: plain Go, with the race detector.
test-logic:
	$(GO) test -race -count=1 $(LOGIC)

# The window and the commands, headless: Fyne's software driver (-tags ci) needs no cgo.
test-ui:
	CGO_ENABLED=0 $(GO) test -count=1 -tags ci,$(TAGS) . ./ui/...

# The built binary must start and draw its window.
smoke:
	scripts/smoke.sh ./$(BINARY)

# frontdesk.exe for 64-bit Windows (mingw-w64), with the app icon and no console window.
windows: deps-windows
	GOFLAGS= $(GO) run github.com/tc-hib/go-winres@v0.3.3 simply --arch amd64 --icon assets/icon.png \
		--manifest gui --product-name "Front Desk" --file-description "Front Desk" --out rsrc
	CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=x86_64-w64-mingw32-gcc \
		$(GO) build -tags $(TAGS) -ldflags "-H=windowsgui -s -w" -o $(BINARY).exe .

# A Linux desktop package (tar.xz with a .desktop file) with Fyne's packager.
package: build
	GOFLAGS= $(GO) run fyne.io/tools/cmd/fyne@v1.7.4 package -os linux -release
	git checkout -- FyneApp.toml 2>/dev/null || true

# PNGs of the main screens, from the real app under Xvfb on a demo store.
screenshots: build deps-test
	scripts/screenshots.sh ./$(BINARY) docs/screenshots

# Benchmarks that print figures: store, packets, mailbox (incl. Dovecot), then the window.
bench: build deps-test
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 3x $(LOGIC)
	scripts/bench-ui.sh ./$(BINARY)

clean:
	rm -f $(BINARY) $(BINARY).exe rsrc_windows_*.syso
