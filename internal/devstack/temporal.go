// Package devstack runs the embedded Temporal server whose persistence is
// a private Postgres cluster (internal/pgcluster). It is for `dev` and
// tests only; production uses a Temporal cluster or Temporal Cloud.
package devstack

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	tlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/membership/static"
	"go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql"
	"go.temporal.io/server/common/primitives"
	"go.temporal.io/server/temporal"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/recoveryhq/recovery/internal/pgcluster"
)

// Temporal's own databases in the dev Postgres.
const (
	temporalDB   = "temporal"
	visibilityDB = "temporal_visibility"
)

// TemporalConfig says how to run the embedded Temporal server.
type TemporalConfig struct {
	// Postgres is the cluster that persists Temporal's state.
	Postgres *pgcluster.Cluster
	// Host is the address services bind to (default 127.0.0.1).
	Host string
	// Port is the frontend gRPC port; 0 picks a free one. History, matching
	// and worker use the next three ports when Port is set, free ones
	// otherwise.
	Port int
	// Namespace is registered at start if missing (default "default").
	Namespace string
	// LogFile receives the server's logs; "" discards all but errors.
	LogFile string
	// DatabaseSuffix names Temporal's databases on the cluster (temporal
	// and temporal_visibility, plus the suffix), so that a second server
	// can share a cluster.
	DatabaseSuffix string
	// TLS, when set, makes the frontend speak TLS and require a client
	// certificate signed by the CA (mutual TLS).
	TLS *TLSFiles
}

// TLSFiles are the PEM files of a server with mutual TLS: the CA that
// signs both sides, the server's certificate and key, and a client
// certificate and key that the server's own clients present.
type TLSFiles struct {
	CA, ServerCert, ServerKey, ClientCert, ClientKey string
	// ServerName is the name in the server's certificate.
	ServerName string
}

// Temporal is a running embedded Temporal server.
type Temporal struct {
	server    temporal.Server
	address   string
	namespace string
	logClose  func()
	tls       *TLSFiles
	stopOnce  sync.Once
	stopErr   error
}

// StartTemporal sets up Temporal's databases (idempotently), starts every
// service in this process and returns once the namespace is usable.
func StartTemporal(ctx context.Context, cfg TemporalConfig) (*Temporal, error) {
	if cfg.Postgres == nil {
		return nil, errors.New("start temporal: no postgres")
	}
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "default"
	}
	logger, closeLog, err := serverLogger(cfg.LogFile)
	if err != nil {
		return nil, err
	}
	if err := setupSchemas(ctx, cfg.Postgres, cfg.DatabaseSuffix, logger); err != nil {
		closeLog()
		return nil, err
	}
	ports, err := servicePorts(cfg.Host, cfg.Port)
	if err != nil {
		closeLog()
		return nil, err
	}
	srvCfg := serverConfig(cfg, ports)
	hosts := map[primitives.ServiceName]static.Hosts{}
	for i, svc := range []primitives.ServiceName{primitives.FrontendService, primitives.HistoryService,
		primitives.MatchingService, primitives.WorkerService} {
		hosts[svc] = static.SingleLocalHost(net.JoinHostPort(cfg.Host, strconv.Itoa(ports[i])))
	}
	srv, err := temporal.NewServer(
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithConfig(srvCfg),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(logger),
		temporal.WithDynamicConfigClient(dynamicConfig()),
	)
	if err != nil {
		closeLog()
		return nil, fmt.Errorf("create temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		closeLog()
		return nil, fmt.Errorf("start temporal server (log: %s): %w", cfg.LogFile, err)
	}
	t := &Temporal{server: srv, address: srvCfg.PublicClient.HostPort, namespace: cfg.Namespace, logClose: closeLog, tls: cfg.TLS}
	if err := t.ensureNamespace(ctx); err != nil {
		t.Stop()
		return nil, err
	}
	return t, nil
}

// Address returns the frontend's host:port.
func (t *Temporal) Address() string { return t.address }

// Namespace returns the registered namespace.
func (t *Temporal) Namespace() string { return t.namespace }

// Stop shuts every service down.
func (t *Temporal) Stop() error {
	t.stopOnce.Do(func() {
		t.stopErr = t.server.Stop()
		t.logClose()
	})
	return t.stopErr
}

// servicePorts returns the gRPC ports of frontend, history, matching and
// worker: base and the next three, or free ones when base is 0.
func servicePorts(host string, base int) ([4]int, error) {
	var ports [4]int
	for i := range ports {
		if base != 0 {
			ports[i] = base + i
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return ports, fmt.Errorf("pick temporal ports: %w", err)
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		defer l.Close()
	}
	for i, p := range ports {
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err != nil && base != 0 {
			return ports, fmt.Errorf("temporal port %d (RECOVERY_TEMPORAL_PORT + %d) is taken: %w", p, i, err)
		}
		if err == nil && base != 0 {
			l.Close()
		}
	}
	return ports, nil
}

// serverLogger writes the server's logs to file, or keeps only errors.
func serverLogger(file string) (tlog.Logger, func(), error) {
	if file == "" {
		return tlog.NewZapLogger(tlog.BuildZapLogger(tlog.Config{Level: "error", OutputFile: os.DevNull})), func() {}, nil
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return nil, nil, err
	}
	zl := tlog.BuildZapLogger(tlog.Config{Level: "warn", OutputFile: file, Format: "json"})
	return tlog.NewZapLogger(zl), func() { zl.Sync() }, nil //nolint:errcheck
}

// dynamicConfig tunes the server for one process on a small machine.
func dynamicConfig() dynamicconfig.StaticClient {
	return dynamicconfig.StaticClient{
		dynamicconfig.MatchingNumTaskqueueReadPartitions.Key():    1,
		dynamicconfig.MatchingNumTaskqueueWritePartitions.Key():   1,
		dynamicconfig.NamespaceCacheRefreshInterval.Key():         time.Second,
		dynamicconfig.FrontendEnableUpdateWorkflowExecution.Key(): true,
		// An activity scheduled on the workflow's own queue starts in the
		// workflow task's completion: no trip through matching.
		dynamicconfig.EnableActivityEagerExecution.Key(): true,
	}
}

// sqlConfig returns the persistence settings for one of Temporal's databases.
func sqlConfig(pg *pgcluster.Cluster, db string) *config.SQL {
	return &config.SQL{
		PluginName: postgresql.PluginName, DatabaseName: db, User: pg.User(),
		ConnectAddr: net.JoinHostPort(pg.Host(), strconv.Itoa(pg.Port())), ConnectProtocol: "tcp",
		MaxConns: 20, MaxIdleConns: 20, MaxConnLifetime: time.Hour,
	}
}

func serverConfig(cfg TemporalConfig, ports [4]int) *config.Config {
	frontend := net.JoinHostPort(cfg.Host, strconv.Itoa(ports[0]))
	svc := func(port int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: port, BindOnIP: cfg.Host}}
	}
	c := &config.Config{
		Global: config.Global{Membership: config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: cfg.Host}},
		Persistence: config.Persistence{
			DefaultStore: "default", VisibilityStore: "visibility", NumHistoryShards: 4,
			DataStores: map[string]config.DataStore{
				"default":    {SQL: sqlConfig(cfg.Postgres, temporalDB+cfg.DatabaseSuffix)},
				"visibility": {SQL: sqlConfig(cfg.Postgres, visibilityDB+cfg.DatabaseSuffix)},
			},
		},
		ClusterMetadata: &cluster.Config{
			EnableGlobalNamespace: false, FailoverVersionIncrement: 10,
			MasterClusterName: "active", CurrentClusterName: "active",
			ClusterInformation: map[string]cluster.ClusterInformation{
				"active": {Enabled: true, InitialFailoverVersion: 1, RPCAddress: frontend},
			},
		},
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		Services: map[string]config.Service{
			"frontend": svc(ports[0]), "history": svc(ports[1]), "matching": svc(ports[2]), "worker": svc(ports[3]),
		},
		Archival: config.Archival{
			History:    config.HistoryArchival{State: "disabled"},
			Visibility: config.VisibilityArchival{State: "disabled"},
		},
		NamespaceDefaults: config.NamespaceDefaults{Archival: config.ArchivalNamespaceDefaults{
			History:    config.HistoryArchivalNamespaceDefaults{State: "disabled"},
			Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"},
		}},
		PublicClient: config.PublicClient{HostPort: frontend},
	}
	if t := cfg.TLS; t != nil {
		client := config.ClientTLS{ServerName: t.ServerName, RootCAFiles: []string{t.CA}}
		c.Global.TLS = config.RootTLS{
			Frontend: config.GroupTLS{
				Server: config.ServerTLS{CertFile: t.ServerCert, KeyFile: t.ServerKey, ClientCAFiles: []string{t.CA},
					RequireClientAuth: true},
				Client: client,
			},
			SystemWorker: config.WorkerTLS{CertFile: t.ClientCert, KeyFile: t.ClientKey, Client: client},
		}
	}
	return c
}

// ensureNamespace registers the namespace if needed and waits until the
// frontend serves it.
func (t *Temporal) ensureNamespace(ctx context.Context) error {
	deadline := time.Now().Add(60 * time.Second)
	var c client.Client
	var err error
	for {
		opts := client.Options{HostPort: t.address, Namespace: t.namespace, Logger: quietSDKLogger{}}
		if opts.ConnectionOptions.TLS, err = t.ClientTLS(); err != nil {
			return err
		}
		c, err = client.Dial(opts)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("connect to embedded temporal: %w", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	defer c.Close()
	_, err = c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: t.namespace, WorkflowExecutionRetentionPeriod: durationpb.New(72 * time.Hour),
	})
	var exists *serviceerror.NamespaceAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("register namespace %s: %w", t.namespace, err)
	}
	for {
		_, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: t.namespace})
		if err == nil {
			_, err = c.WorkflowService().ListOpenWorkflowExecutions(ctx, &workflowservice.ListOpenWorkflowExecutionsRequest{
				Namespace: t.namespace, MaximumPageSize: 1})
		}
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("namespace %s not usable: %w", t.namespace, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// ClientTLS is the TLS configuration a client of this server needs: nil
// without TLS, else the CA and the client certificate.
func (t *Temporal) ClientTLS() (*tls.Config, error) {
	if t.tls == nil {
		return nil, nil
	}
	pair, err := tls.LoadX509KeyPair(t.tls.ClientCert, t.tls.ClientKey)
	if err != nil {
		return nil, fmt.Errorf("client certificate: %w", err)
	}
	ca, err := os.ReadFile(t.tls.CA)
	if err != nil {
		return nil, fmt.Errorf("CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, errors.New("CA: no certificate in the file")
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: pool, ServerName: t.tls.ServerName,
		MinVersion: tls.VersionTLS12}, nil
}
