package demo

import (
	_ "embed"
	"fmt"

	"github.com/dsr-project/dsr/internal/config"
	"github.com/dsr-project/dsr/internal/datamap"
)

//go:embed datamap.yaml
var dataMapYAML []byte

// DataMap returns the demo store described as a data map, for the generic SQL connector.
// Its single store is named StoreName.
func DataMap() (*datamap.Map, error) {
	return datamap.Parse("internal/demo/datamap.yaml", dataMapYAML)
}

// Connection returns the data-map connection of the demo store at url, the URL that Open
// takes ("sqlite:PATH" or "postgres://…"), so that the generic connector reaches the very
// database Open created and Seed filled.
func Connection(url string) (datamap.Connection, error) {
	target, err := config.ParseDatabaseURL(url)
	if err != nil {
		return datamap.Connection{}, fmt.Errorf("demo store: %w", err)
	}
	switch target.Kind {
	case config.Postgres:
		return datamap.Connection{Driver: datamap.Postgres, DSN: target.DSN}, nil
	case config.SQLite:
		return datamap.Connection{Driver: datamap.SQLite, DSN: target.DSN}, nil
	}
	return datamap.Connection{}, fmt.Errorf("demo store: unsupported database %s", target.Kind)
}
