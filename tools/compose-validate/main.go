// compose-validate loads Compose files the way `docker compose config --quiet` does, with the
// Compose Specification's reference Go library (compose-go, the loader inside docker compose
// itself), and needs no Docker engine. It fails, naming the error, on anything the loader rejects:
// a key the schema does not know, a bad depends_on condition, a service depending on an undefined
// service, a volume, network, config or secret that is not declared. Values only an engine can
// judge (an image that does not exist, a port already taken) are not checked.
//
//	compose-validate [--json] [--project-name NAME] FILE...
//
// Exit codes: 0 valid, 1 invalid (the error on stderr), 2 usage. --json prints the resolved
// project (what `docker compose config --format json` prints) on stdout.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	asJSON := flag.Bool("json", false, "print the resolved project as JSON on stdout")
	projectName := flag.String("project-name", "clerk", "project name, unless the file sets one (name:)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: compose-validate [--json] [--project-name NAME] FILE...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	files := flag.Args()
	if err := validate(files, *projectName, *asJSON); err != nil {
		fmt.Fprintf(os.Stderr, "compose-validate: %v\n", err)
		os.Exit(1)
	}
}

func validate(files []string, projectName string, asJSON bool) error {
	workingDir, err := filepath.Abs(filepath.Dir(files[0]))
	if err != nil {
		return err
	}
	// The same options docker compose applies: the file's folder as project directory, the
	// process environment and a .env beside the file for interpolation.
	options, err := cli.NewProjectOptions(files,
		cli.WithWorkingDirectory(workingDir),
		cli.WithOsEnv,
		cli.WithDotEnv,
		cli.WithName(projectName),
	)
	if err != nil {
		return err
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		return err
	}
	if asJSON {
		out, err := json.MarshalIndent(project, "", "  ")
		if err != nil {
			return err
		}
		fmt.Println(string(out))
		return nil
	}
	fmt.Fprintf(os.Stderr, "%s: valid (%d services, %d volumes)\n", files[0], len(project.Services), len(project.Volumes))
	return nil
}
