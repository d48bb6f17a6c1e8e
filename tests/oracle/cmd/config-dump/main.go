// config-dump prints, as one JSON object, what upstream Prow reads from a configuration: the
// jobs (presubmits, postsubmits, periodics, with presets applied and decoration defaults
// resolved, as upstream's config.Load leaves them), the rest of config.yaml, and plugins.yaml
// as upstream's plugin agent loads it (when given). The differential
// test of import then render (operator/tests/oracle_roundtrip.rs) compares the dump of the
// original configuration with the dump of what the operator renders from it.
//
// Usage: config-dump --config-path=config.yaml [--job-config-path=jobs] [--plugin-config=plugins.yaml]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"sigs.k8s.io/prow/pkg/config"
	"sigs.k8s.io/prow/pkg/plugins"
)

func main() {
	configPath := flag.String("config-path", "", "config.yaml")
	jobConfigPath := flag.String("job-config-path", "", "the job-config directory")
	pluginConfig := flag.String("plugin-config", "", "plugins.yaml")
	flag.Parse()
	if *configPath == "" {
		fmt.Fprintln(os.Stderr, "config-dump: --config-path is required")
		os.Exit(2)
	}
	loaded, err := config.Load(*configPath, *jobConfigPath, nil, "")
	if err != nil {
		fmt.Fprintf(os.Stderr, "config-dump: %v\n", err)
		os.Exit(1)
	}
	dump := map[string]interface{}{
		"presubmits":  loaded.PresubmitsStatic,
		"postsubmits": loaded.PostsubmitsStatic,
		"periodics":   loaded.Periodics,
		"prow_config": loaded.ProwConfig,
	}
	if *pluginConfig != "" {
		// Unknown plugins are not this tool's question (checkconfig asks it), nor the
		// config_updater defaults resolved from the job-config path.
		agent := plugins.ConfigAgent{}
		if err := agent.Load(*pluginConfig, nil, "", false, true); err != nil {
			fmt.Fprintf(os.Stderr, "config-dump: %v\n", err)
			os.Exit(1)
		}
		dump["plugins"] = agent.Config()
	}
	if err := json.NewEncoder(os.Stdout).Encode(dump); err != nil {
		fmt.Fprintf(os.Stderr, "config-dump: %v\n", err)
		os.Exit(1)
	}
}
