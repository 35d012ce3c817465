// Package minify turns the tracker's readable source into the served script with esbuild. It lives apart
// from package tracker so that esbuild is linked only into the generator and the tests, never into the
// server binary.
package minify

import (
	"fmt"

	"github.com/evanw/esbuild/pkg/api"
)

// JS minifies one self-contained script. ES2017 keeps the output readable by every browser that has
// sendBeacon and URL, which the tracker needs anyway.
func JS(src []byte) ([]byte, error) {
	res := api.Transform(string(src), api.TransformOptions{
		Loader:            api.LoaderJS,
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		Target:            api.ES2017,
		LegalComments:     api.LegalCommentsNone,
		Charset:           api.CharsetUTF8,
	})
	if len(res.Errors) > 0 {
		e := res.Errors[0]
		if e.Location != nil {
			return nil, fmt.Errorf("minify: line %d: %s", e.Location.Line, e.Text)
		}
		return nil, fmt.Errorf("minify: %s", e.Text)
	}
	return res.Code, nil
}
