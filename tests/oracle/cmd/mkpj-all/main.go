// mkpj-all makes, in one process, what upstream's mkpj and mkpod make one job at a time: the
// configuration is loaded once (as mkpj loads it), and for every job (each presubmit and
// postsubmit of each repository, each periodic) it writes the ProwJob mkpj would write for the
// refs given on the command line, and the Pod mkpod would make of that ProwJob when it has one.
// Given --pods-of=-, it instead reads ProwJobs (JSON, one per line) from stdin and writes the Pod
// mkpod would make of each. The differential test operator/tests/oracle_mkpj.rs compares both
// with the operator's mkpj and mkpod; per job, upstream's two binaries take 0.2 to 1 s, this
// takes milliseconds, so every job of every configuration can be compared.
//
// Output: one JSON object per line, {"type", "repo", "name", "prowjob", "pod" or "pod_error"} for
// jobs; {"pod"} or {"pod_error"} for --pods-of. The run's name (--run-name) and build id
// (--build-id) are set on each ProwJob before its Pod is made, as plank does before it makes one.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"

	"github.com/sirupsen/logrus"
	v1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/config"
	"sigs.k8s.io/prow/pkg/kube"
	"sigs.k8s.io/prow/pkg/pjutil"
	"sigs.k8s.io/prow/pkg/pod-utils/decorate"
)

type options struct {
	configPath, jobConfigPath, podsOf string
	baseRef, baseSHA, pullSHA, author string
	pullNumber                        int
	buildID, runName                  string
}

// line is one line of output.
type line struct {
	Type     string           `json:"type,omitempty"`
	Repo     string           `json:"repo,omitempty"`
	Name     string           `json:"name,omitempty"`
	ProwJob  *prowapi.ProwJob `json:"prowjob,omitempty"`
	Pod      *v1.Pod          `json:"pod,omitempty"`
	PodError string           `json:"pod_error,omitempty"`
}

func main() {
	var o options
	flag.StringVar(&o.configPath, "config-path", "", "config.yaml")
	flag.StringVar(&o.jobConfigPath, "job-config-path", "", "the job-config directory")
	flag.StringVar(&o.podsOf, "pods-of", "", "- to read ProwJobs (JSON lines) from stdin and write their Pods")
	flag.StringVar(&o.baseRef, "base-ref", "", "Git base ref under test")
	flag.StringVar(&o.baseSHA, "base-sha", "", "Git base SHA under test")
	flag.IntVar(&o.pullNumber, "pull-number", 0, "Git pull number under test")
	flag.StringVar(&o.pullSHA, "pull-sha", "", "Git pull SHA under test")
	flag.StringVar(&o.author, "pull-author", "", "Git pull author under test")
	flag.StringVar(&o.buildID, "build-id", "", "the build id each Pod is made with")
	flag.StringVar(&o.runName, "run-name", "", "the name each ProwJob is given before its Pod is made")
	flag.Parse()
	quiet()
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	encoder := json.NewEncoder(out)
	var err error
	if o.podsOf == "-" {
		err = podsOfStdin(o, encoder)
	} else if o.configPath != "" {
		err = everyJob(o, encoder)
	} else {
		err = fmt.Errorf("give --config-path (every job) or --pods-of=- (the Pods of ProwJobs on stdin)")
	}
	if err != nil {
		out.Flush()
		fmt.Fprintf(os.Stderr, "mkpj-all: %v\n", err)
		os.Exit(1)
	}
}

// everyJob writes every job's ProwJob, as mkpj makes it, and its Pod, as mkpod makes it.
func everyJob(o options, encoder *json.Encoder) error {
	conf, err := config.Load(o.configPath, o.jobConfigPath, nil, "")
	if err != nil {
		return fmt.Errorf("loading the configuration: %w", err)
	}
	quiet() // loading set the level config.yaml's log_level names
	scheduling := pjutil.RequireScheduling(conf.Scheduler.Enabled)
	emit := func(kind, repo string, job config.JobBase, spec prowapi.ProwJobSpec) error {
		pj := pjutil.NewProwJob(spec, job.Labels, job.Annotations, scheduling)
		l := line{Type: kind, Repo: repo, Name: job.Name, ProwJob: &pj}
		if pj.Spec.Agent == prowapi.KubernetesAgent && pj.Spec.PodSpec != nil {
			l.Pod, l.PodError = podOf(o, pj)
		}
		return encoder.Encode(l)
	}
	for _, fullName := range sortedKeys(conf.PresubmitsStatic) {
		org, repo, err := config.SplitRepoName(fullName)
		if err != nil {
			continue // mkpj skips such a repository with a warning
		}
		for _, p := range conf.PresubmitsStatic[fullName] {
			refs := prowapi.Refs{Org: org, Repo: repo, BaseRef: o.baseRef, BaseSHA: o.baseSHA,
				Pulls: []prowapi.Pull{{Author: o.author, Number: o.pullNumber, SHA: o.pullSHA}}}
			if err := emit("presubmit", fullName, p.JobBase, pjutil.PresubmitSpec(p, refs)); err != nil {
				return err
			}
		}
	}
	for _, fullName := range sortedKeys(conf.PostsubmitsStatic) {
		org, repo, err := config.SplitRepoName(fullName)
		if err != nil {
			continue
		}
		for _, p := range conf.PostsubmitsStatic[fullName] {
			refs := prowapi.Refs{Org: org, Repo: repo, BaseRef: o.baseRef, BaseSHA: o.baseSHA}
			if err := emit("postsubmit", fullName, p.JobBase, pjutil.PostsubmitSpec(p, refs)); err != nil {
				return err
			}
		}
	}
	for _, p := range conf.Periodics {
		if err := emit("periodic", "", p.JobBase, pjutil.PeriodicSpec(p)); err != nil {
			return err
		}
	}
	return nil
}

// podsOfStdin writes the Pod of each ProwJob read from stdin, one per line, in order.
func podsOfStdin(o options, encoder *json.Encoder) error {
	scanner := bufio.NewScanner(os.Stdin)
	scanner.Buffer(make([]byte, 1<<20), 64<<20)
	for scanner.Scan() {
		var pj prowapi.ProwJob
		var l line
		if err := yaml.Unmarshal(scanner.Bytes(), &pj); err != nil {
			l.PodError = fmt.Sprintf("not a ProwJob: %v", err)
		} else {
			l.Pod, l.PodError = podOf(o, pj)
		}
		if err := encoder.Encode(l); err != nil {
			return err
		}
	}
	return scanner.Err()
}

// podOf is what mkpod makes of the ProwJob once plank has named the run.
func podOf(o options, original prowapi.ProwJob) (*v1.Pod, string) {
	pj := *original.DeepCopy() // the Pod's labels are written into the ProwJob's maps
	pj.Name = o.runName
	pj.GenerateName = ""
	pj.Status.BuildID = o.buildID
	pod, err := decorate.ProwJobToPod(pj)
	if err != nil {
		return nil, err.Error()
	}
	labels := map[string]string{}
	for k, v := range pod.Labels {
		if k != kube.CreatedByProw {
			labels[k] = v
		}
	}
	pod.Labels = labels
	pod.GetObjectKind().SetGroupVersionKind(v1.SchemeGroupVersion.WithKind("Pod"))
	return pod, ""
}

// quiet leaves out the label truncations mkpj and mkpod note at info, once per long job name.
func quiet() {
	logrus.SetLevel(logrus.WarnLevel)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
