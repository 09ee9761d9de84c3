// Package assets embeds the files Front Desk ships inside its binary: the
// fonts the printed intake packet is set in. Their licences are beside them
// in fonts/ (DejaVu: Bitstream Vera licence, public-domain DejaVu changes;
// Droid Sans Fallback: Apache License 2.0).
package assets

import _ "embed" // the fonts below are embedded

// DejaVuSans is DejaVu Sans 2.37 (Debian fonts-dejavu-core): Latin including
// Vietnamese and Polish, Greek, Cyrillic and the ☐ ☑ ✓ symbols.
//
//go:embed fonts/DejaVuSans.ttf
var DejaVuSans []byte

// DejaVuSansBold is DejaVu Sans Bold 2.37.
//
//go:embed fonts/DejaVuSans-Bold.ttf
var DejaVuSansBold []byte

// DroidSansFallback is Droid Sans Fallback Full (Debian
// fonts-droid-fallback 6.0.1r16): Chinese, Japanese and Korean.
//
//go:embed fonts/DroidSansFallbackFull.ttf
var DroidSansFallback []byte
