package tracker

import (
	"fmt"

	"github.com/evanw/esbuild/pkg/api"
)

//go:generate go run ./internal/build

// Minify turns the readable source into the served script. It runs at development time (go generate)
// and in the freshness test, never at run time.
func Minify(src []byte) ([]byte, error) {
	res := api.Transform(string(src), api.TransformOptions{
		Loader:            api.LoaderJS,
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		Target:            api.ES2017,
		LegalComments:     api.LegalCommentsNone,
	})
	if len(res.Errors) > 0 {
		return nil, fmt.Errorf("tracker: minify: %s", res.Errors[0].Text)
	}
	return res.Code, nil
}
