package app

import (
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// Version is the release, set at build time with -ldflags "-X …/internal/app.Version=v1.2.3".
var Version = "dev"

// BuildInfo describes the running binary.
func BuildInfo() (version, revision, goVersion string) {
	version, revision = Version, "unknown"
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return version, revision, "unknown"
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			revision = s.Value[:12]
		}
	}
	return version, revision, info.GoVersion
}

func buildInfo() prometheus.Collector {
	v, r, g := BuildInfo()
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "kizuna_build_info",
		Help:        "Always 1; the labels describe the running binary.",
		ConstLabels: prometheus.Labels{"version": v, "revision": r, "goversion": g},
	}, func() float64 { return 1 })
}
