package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/demo"
	"github.com/dsr-project/dsr/internal/discover"
)

func datamapCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "datamap",
		Short: "Work on the data map that describes the systems holding personal data",
	}
	d := &cobra.Command{
		Use:   "discover",
		Short: "List personal data in the sql stores that the data map does not cover, as a YAML snippet to review",
		Long: `discover reads the catalog of every sql store of the data map and at most --sample-rows
rows of each table, in read-only transactions, and prints a YAML snippet for the data map:
columns that look like personal data (names, e-mail addresses, phone numbers, postal and
IP addresses, card numbers, dates of birth; by their name or their content) that the map
does not name, and tables linked by foreign key to a mapped table that the map ignores.
A comment says why each entry is there. Sampled values are never printed.

It scans the data map of --data-map (DSR_DATA_MAP) and the demo company's stores: those of
--demo-store (DSR_DEMO_STORE), else the demo directory of --data-dir (DSR_DATA_DIR) when
` + "`dsr dev`" + ` made one.`,
		Args: cobra.NoArgs,
		RunE: runDatamapDiscover,
	}
	d.Flags().String("data-map", "", "YAML data map whose sql stores to scan (env DSR_DATA_MAP)")
	d.Flags().String("demo-store", "", `where the demo company's databases live, as for dsr dev; "off" for none (env DSR_DEMO_STORE)`)
	d.Flags().String("data-dir", defaultDataDir, "data directory of `dsr dev`, whose demo company is scanned when no demo store is given (env DSR_DATA_DIR)")
	d.Flags().Int("sample-rows", discover.DefaultSampleRows, "rows read from each table at most")
	cmd.AddCommand(d)
	return cmd
}

func runDatamapDiscover(cmd *cobra.Command, _ []string) error {
	rows, _ := cmd.Flags().GetInt("sample-rows")
	if rows < 1 {
		return errors.New("--sample-rows must be at least 1")
	}
	target := flagOrEnv(cmd, "demo-store", "DSR_DEMO_STORE")
	if target == "" {
		dir := filepath.Join(flagOrEnv(cmd, "data-dir", "DSR_DATA_DIR"), "demo")
		if info, err := os.Stat(dir); err == nil && info.IsDir() {
			target = "sqlite:" + dir
		}
	}
	maps, err := discoverMaps(flagOrEnv(cmd, "data-map", "DSR_DATA_MAP"), target)
	if err != nil {
		return err
	}
	if len(maps) == 0 {
		return errors.New("nothing to scan: give --data-map (DSR_DATA_MAP), --demo-store (DSR_DEMO_STORE), or the --data-dir of `dsr dev`")
	}
	reports, err := discover.Scanner{Maps: maps, Options: discover.Options{SampleRows: rows}}.Scan(cmd.Context())
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	for i, r := range reports {
		snippet, err := r.YAML()
		if err != nil {
			return err
		}
		if i > 0 {
			fmt.Fprintln(out, "---")
		}
		fmt.Fprintf(out, "# Data map: %s\n%s", r.File, snippet)
	}
	return nil
}

// discoverMaps are the maps to scan: the data map at path, then the demo company's at
// demoTarget with each sql store's connection pointing at its database. The demo is not
// set up here: discover reads only, and an absent demo is simply not scanned. Either may
// be empty (demoTarget also "off").
func discoverMaps(path, demoTarget string) ([]*datamap.Map, error) {
	var maps []*datamap.Map
	if path != "" {
		m, err := datamap.Load(path)
		if err != nil {
			return nil, err
		}
		maps = append(maps, m)
	}
	if demoTarget != "" && demoTarget != "off" {
		t, err := demo.ParseTarget(demoTarget)
		if err != nil {
			return nil, err
		}
		m, err := demo.DataMap()
		if err != nil {
			return nil, err
		}
		for i, s := range m.Stores {
			if s.Kind == datamap.KindSQL {
				m.Stores[i].Connection = t.Connection(s.Name)
			}
		}
		maps = append(maps, m)
	}
	return maps, nil
}

// flagOrEnv is a flag's value when given, else the environment's, else the flag's default.
func flagOrEnv(cmd *cobra.Command, flag, env string) string {
	v, _ := cmd.Flags().GetString(flag)
	if cmd.Flags().Changed(flag) {
		return v
	}
	if e := os.Getenv(env); e != "" {
		return e
	}
	return v
}
