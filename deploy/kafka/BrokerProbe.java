import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterResult;

/**
 * Waits until a broker answers a metadata request (describeCluster), or gives up.
 * Usage: java -cp 'libs/*' BrokerProbe.java HOST:PORT TIMEOUT_SECONDS [CLIENT.properties]
 * (CLIENT.properties: the security settings of a secure broker's admin client, see kafka.sh)
 * Exit 0 when the broker answered, 1 when it did not in time.
 */
public class BrokerProbe {
    public static void main(String[] args) throws Exception {
        String bootstrap = args[0];
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.parseLong(args[1]));
        Properties props = new Properties();
        if (args.length > 2) {
            try (java.io.FileInputStream in = new java.io.FileInputStream(args[2])) {
                props.load(in);
            }
        }
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "2000");
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "3000");
        props.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "500");
        try (Admin admin = Admin.create(props)) {
            while (System.nanoTime() < deadline) {
                try {
                    DescribeClusterResult cluster = admin.describeCluster();
                    int brokers = cluster.nodes().get(3, TimeUnit.SECONDS).size();
                    String controller = String.valueOf(cluster.controller().get(3, TimeUnit.SECONDS));
                    if (brokers > 0) {
                        System.out.println("broker up: " + brokers + " node(s), controller " + controller);
                        System.exit(0);
                    }
                } catch (Exception notYet) {
                    Thread.sleep(250);
                }
            }
        }
        System.err.println("broker at " + bootstrap + " did not answer a metadata request in time");
        System.exit(1);
    }
}
