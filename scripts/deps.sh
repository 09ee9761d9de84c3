#!/usr/bin/env bash
# Installs the system packages Front Desk needs to build (cgo: GL and X11
# headers for Fyne) and to test (poppler-utils, qpdf, Xvfb, Dovecot, …).
# Checks `dpkg -s` first, so a machine that has everything is left alone.
#   scripts/deps.sh build   packages to build and run the window
#   scripts/deps.sh test    packages to build and run every test
#   scripts/deps.sh windows the cross-compiler for the Windows .exe
set -euo pipefail

want=${1:-build}
build_pkgs=(gcc pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxi-dev libxinerama-dev libxrandr-dev libxxf86vm-dev)
test_pkgs=(poppler-utils qpdf xvfb xauth x11-utils xdotool imagemagick dovecot-imapd openssl)
windows_pkgs=(gcc-mingw-w64-x86-64)

case "$(uname -s)" in
Darwin)
	echo "macOS: install Xcode's command line tools (xcode-select --install) and Go 1.26 (https://go.dev/dl/)."
	echo "For the tests also: brew install poppler qpdf dovecot"
	exit 0 ;;
MINGW* | MSYS* | CYGWIN* | Windows_NT)
	echo "Windows: install Go 1.26 and a 64-bit gcc (MSYS2: pacman -S mingw-w64-x86_64-gcc) and put both on PATH."
	echo "The PDF tests also need poppler (pdftotext) and qpdf on PATH."
	exit 0 ;;
esac

if ! command -v go >/dev/null 2>&1; then
	echo "Go 1.26 is not installed: get it from https://go.dev/dl/ and put it on PATH." >&2
	exit 1
fi
if ! command -v dpkg >/dev/null 2>&1; then
	echo "Not a Debian/Ubuntu system: install the equivalents of: ${build_pkgs[*]}" >&2
	[ "$want" = test ] && echo "and for the tests: ${test_pkgs[*]}" >&2
	exit 0
fi

case "$want" in
build) pkgs=("${build_pkgs[@]}") ;;
test) pkgs=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
windows) pkgs=("${windows_pkgs[@]}") ;;
*) echo "usage: $0 build|test|windows" >&2; exit 2 ;;
esac
missing=()
for p in "${pkgs[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "Installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
