package dev.trellis.neo4j;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.io.ByteUnit;

/**
 * trellis local Neo4j: Neo4j 5.26 LTS Community as an embedded
 * DatabaseManagementService with only the Bolt connector on, for development
 * and CI. Auth is disabled and the connector listens on loopback only.
 *
 * Usage: java dev.trellis.neo4j.Launcher HOME [HOST] [PORT]
 *
 * HOME holds the store (HOME/data) and the logs (HOME/logs). The launcher
 * writes HOME/ready once the default database is available, and removes it
 * on shutdown. SIGTERM (neo4j.sh stop) shuts the service down cleanly.
 */
public final class Launcher {
    private Launcher() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 1 || args.length > 3) {
            System.err.println("trellis-neo4j: usage: Launcher HOME [HOST] [PORT]");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        String host = args.length > 1 ? args[1] : "127.0.0.1";
        int port = args.length > 2 ? Integer.parseInt(args[2]) : 7687;
        Path ready = home.resolve("ready");
        Files.createDirectories(home);
        Files.deleteIfExists(ready);

        DatabaseManagementService service = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress(host, port))
                .setConfig(BoltConnector.advertised_address, new SocketAddress(host, port))
                .setConfig(HttpConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, false)
                .setConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.mebiBytes(512))
                // A development store: small transaction log files, pruned at
                // frequent checkpoints, so repeated pushes do not fill the disk.
                .setConfig(GraphDatabaseSettings.logical_log_rotation_threshold, ByteUnit.mebiBytes(64))
                .setConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
                .setConfig(GraphDatabaseSettings.keep_logical_logs, "128M size")
                .setConfig(GraphDatabaseSettings.check_point_interval_time, Duration.ofMinutes(1))
                .build();

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                Files.deleteIfExists(ready);
            } catch (IOException ignored) {
                // The pid file and the port are what neo4j.sh trusts; the marker is a convenience.
            }
            service.shutdown();
            stopped.countDown();
        }, "trellis-neo4j-shutdown"));

        GraphDatabaseService db = service.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
        if (!db.isAvailable(Duration.ofSeconds(120).toMillis())) {
            System.err.println("trellis-neo4j: the default database did not become available within 120 s.");
            System.exit(1);
        }
        Files.writeString(ready, "bolt://" + host + ":" + port + "\n");
        System.out.println("trellis-neo4j: Neo4j " + org.neo4j.kernel.internal.Version.getNeo4jVersion()
                + " ready on bolt://" + host + ":" + port + " (store " + home + ")");
        while (!stopped.await(1, TimeUnit.HOURS)) {
            // Parked until the shutdown hook runs.
        }
    }
}
