package assets

import _ "embed"

// Icon is the application icon (512×512 PNG): a white cross on teal.
//
//go:embed icon.png
var Icon []byte
