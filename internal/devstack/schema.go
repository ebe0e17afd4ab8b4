package devstack

import (
	"context"
	"fmt"

	tlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/tools/common/schema"
	sqltool "go.temporal.io/server/tools/sql"

	"github.com/recoveryhq/recovery/internal/pgcluster"
)

// setupSchemas creates Temporal's two databases and brings their schemas to
// the versions this server needs, from the schemas embedded in the server
// module. It is idempotent: on a set-up database it only checks versions.
func setupSchemas(ctx context.Context, pg *pgcluster.Cluster, suffix string, logger tlog.Logger) error {
	for _, s := range []struct{ db, name string }{
		{temporalDB + suffix, "postgresql/v12/temporal"},
		{visibilityDB + suffix, "postgresql/v12/visibility"},
	} {
		if err := pg.CreateDatabase(ctx, s.db); err != nil {
			return err
		}
		conn, err := sqltool.NewConnection(sqlConfig(pg, s.db), logger)
		if err != nil {
			return fmt.Errorf("connect to %s: %w", s.db, err)
		}
		err = migrateSchema(conn, s.name, logger)
		conn.Close()
		if err != nil {
			return fmt.Errorf("set up temporal schema %s: %w", s.name, err)
		}
	}
	return nil
}

func migrateSchema(conn *sqltool.Connection, name string, logger tlog.Logger) error {
	if _, err := conn.ReadSchemaVersion(); err != nil {
		// A fresh database (or one a crashed first start left without
		// version tables): create the version tables at 0.0.
		setup := &schema.SetupConfig{InitialVersion: "0.0"}
		if err := schema.NewSetupSchemaTask(conn, setup, logger).Run(); err != nil {
			return err
		}
	}
	return schema.NewUpdateSchemaTask(conn, &schema.UpdateConfig{SchemaName: name}, logger).Run()
}
