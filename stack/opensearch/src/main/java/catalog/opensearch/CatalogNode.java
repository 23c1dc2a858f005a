package catalog.opensearch;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.ServiceLoader;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.apache.logging.log4j.LogManager;
import org.opensearch.Version;
import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.http.HttpServerTransport;
import org.opensearch.index.mapper.MapperExtrasPlugin;
import org.opensearch.index.reindex.ReindexPlugin;
import org.opensearch.join.ParentJoinPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.painless.spi.PainlessExtension;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;
import org.opensearch.transport.TransportService;

/**
 * Runs a single real OpenSearch node in this JVM, with the standard modules loaded as
 * classpath plugins (no distribution tarball needed; everything comes from Maven Central).
 *
 * <p>Usage: {@code CatalogNode [--home DIR] [--data DIR] [--logs DIR] [--http-port N]
 * [--transport-port N] [-Ekey=value ...]}. Each option falls back to a system property
 * ({@code catalog.home}, {@code catalog.data}, {@code catalog.logs}, {@code catalog.http.port},
 * {@code catalog.transport.port}); data and logs default to {@code <home>/data} and
 * {@code <home>/logs}. {@code <home>/config/log4j2.properties} is used when present.
 *
 * <p>Once the node is up it prints {@code catalog-node started http=HOST:PORT ...} on stdout.
 * SIGTERM/SIGINT close the node cleanly.
 */
public final class CatalogNode extends Node {

    /** Modules of the OpenSearch distribution that this node loads (2.19 class names). */
    static final List<Class<? extends Plugin>> PLUGINS = List.of(
        Netty4Plugin.class,
        CommonAnalysisPlugin.class,
        MapperExtrasPlugin.class,
        PainlessPlugin.class,
        ReindexPlugin.class,
        ParentJoinPlugin.class
    );

    private CatalogNode(Environment environment, Collection<Class<? extends Plugin>> plugins) {
        // forbidPrivateIndexSettings=true, exactly like the production node.
        super(environment, plugins, true);
    }

    public static void main(String[] args) {
        // LogConfigurator.configure redirects System.out/err into log4j; keep the real stdout
        // for the "started" line that callers look for, and for fatal errors.
        PrintStream stdout = System.out;
        try {
            run(args, stdout);
        } catch (Throwable t) {
            stdout.println("catalog-node failed to start: " + t);
            t.printStackTrace(stdout);
            stdout.flush();
            // Thread pools may already exist; do not let them keep a broken JVM alive.
            System.exit(1);
        }
    }

    private static void run(String[] args, PrintStream stdout) throws Exception {
        Path home = null;
        Path data = null;
        Path logs = null;
        String httpPort = System.getProperty("catalog.http.port", "9200");
        String transportPort = System.getProperty("catalog.transport.port", "9300");
        Settings.Builder extra = Settings.builder();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.startsWith("-E") && arg.contains("=")) {
                int eq = arg.indexOf('=');
                extra.put(arg.substring(2, eq), arg.substring(eq + 1));
                continue;
            }
            if (i + 1 >= args.length) {
                usage("missing value for " + arg);
            }
            String value = args[++i];
            switch (arg) {
                case "--home" -> home = Paths.get(value);
                case "--data" -> data = Paths.get(value);
                case "--logs" -> logs = Paths.get(value);
                case "--http-port" -> httpPort = value;
                case "--transport-port" -> transportPort = value;
                default -> usage("unknown argument " + arg);
            }
        }
        if (home == null) {
            String prop = System.getProperty("catalog.home");
            if (prop == null) {
                usage("--home (or -Dcatalog.home) is required");
            }
            home = Paths.get(prop);
        }
        home = home.toAbsolutePath().normalize();
        data = (data != null ? data : Paths.get(System.getProperty("catalog.data", home.resolve("data").toString())))
            .toAbsolutePath().normalize();
        logs = (logs != null ? logs : Paths.get(System.getProperty("catalog.logs", home.resolve("logs").toString())))
            .toAbsolutePath().normalize();
        Path config = home.resolve("config");
        for (Path dir : List.of(home, config, home.resolve("plugins"), home.resolve("modules"), data, logs)) {
            Files.createDirectories(dir);
        }

        Settings settings = Settings.builder()
            .put("cluster.name", "catalog-dev")
            .put("node.name", "catalog-node")
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", httpPort)
            .put("transport.port", transportPort)
            .put("path.home", home.toString())
            .put("path.data", data.toString())
            .put("path.logs", logs.toString())
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put("node.processors", Math.min(2, Runtime.getRuntime().availableProcessors()))
            // -E flags override any of the above.
            .put(extra.build())
            .build();

        Environment environment = InternalSettingsPreparer.prepareEnvironment(
            settings, Collections.emptyMap(), config, () -> "catalog-node");
        configureLogging(environment);
        loadPainlessExtensions();

        CatalogNode node = new CatalogNode(environment, PLUGINS);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(30, TimeUnit.SECONDS);
            } catch (IOException | InterruptedException e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
                LogManager.shutdown();
            }
        }, "catalog-node-shutdown"));

        node.start();
        HttpServerTransport http = node.injector().getInstance(HttpServerTransport.class);
        TransportService transport = node.injector().getInstance(TransportService.class);
        stdout.println("catalog-node started http=" + http.boundAddress().publishAddress()
            + " transport=" + transport.boundAddress().publishAddress()
            + " version=" + Version.CURRENT);
        stdout.flush();
        stopped.await();
    }

    /**
     * Uses {@code config/log4j2.properties} the way the stock launcher does (which also gives
     * the {@code %node_name} pattern and {@code opensearch.logs.*} properties); without a
     * config file it falls back to OpenSearch's console-only configuration.
     */
    private static void configureLogging(Environment environment) throws Exception {
        LogConfigurator.registerErrorListener();
        LogConfigurator.setNodeName(Node.NODE_NAME_SETTING.get(environment.settings()));
        boolean hasConfig;
        try (Stream<Path> files = Files.list(environment.configFile())) {
            hasConfig = files.anyMatch(p -> p.getFileName().toString().startsWith("log4j2")
                && p.getFileName().toString().endsWith(".properties"));
        }
        if (hasConfig) {
            LogConfigurator.configure(environment);
        } else {
            LogConfigurator.configureWithoutConfig(environment.settings());
        }
    }

    /**
     * In 2.19 PluginsService only calls {@code loadExtensions} for plugins loaded from plugin
     * bundles, never for classpath plugins, so Painless would miss the allowlists that other
     * modules contribute (e.g. analysis-common's). Painless keeps its allowlists in a static
     * map, so feeding it the ServiceLoader-discovered extensions once, before the node is
     * built, has the same effect as the bundle loader.
     */
    private static void loadPainlessExtensions() {
        new PainlessPlugin().loadExtensions(new org.opensearch.plugins.ExtensiblePlugin.ExtensionLoader() {
            @Override
            public <T> List<T> loadExtensions(Class<T> type) {
                if (type != PainlessExtension.class) {
                    return Collections.emptyList();
                }
                List<T> found = new ArrayList<>();
                ServiceLoader.load(type, CatalogNode.class.getClassLoader()).forEach(found::add);
                return found;
            }
        });
    }

    private static void usage(String problem) {
        System.err.println("catalog-node: " + problem);
        System.err.println("usage: CatalogNode --home DIR [--data DIR] [--logs DIR] [--http-port N] "
            + "[--transport-port N] [-Ekey=value ...]");
        System.exit(2);
    }
}
