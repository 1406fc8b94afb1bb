import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

/**
 * The secure broker's administration, as the super user, in one JVM (kafka.sh has no kafka-acls tool).
 *
 * <pre>
 * java -cp 'libs/*' SecureAdmin.java ADMIN.properties acls &lt; lines
 *     one ACL per line: PRINCIPAL RESOURCE_TYPE PATTERN_TYPE NAME OPERATION[,OPERATION...]
 *     e.g. "User:replay TOPIC LITERAL posts WRITE,DESCRIBE"; all are ALLOW from any host; adding an
 *     ACL that exists already changes nothing
 * java -cp 'libs/*' SecureAdmin.java ADMIN.properties scram USER &lt; password
 *     sets USER's SCRAM-SHA-512 password (creates the user, or rotates its password)
 * </pre>
 *
 * Exit 0 on success; 1 with one line on stderr otherwise.
 */
public class SecureAdmin {
    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            fail("usage: SecureAdmin.java ADMIN.properties acls|scram USER");
        }
        Properties props = new Properties();
        try (FileInputStream in = new FileInputStream(args[0])) {
            props.load(in);
        }
        props.putIfAbsent("request.timeout.ms", "10000");
        props.putIfAbsent("default.api.timeout.ms", "30000");
        BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try (Admin admin = Admin.create(props)) {
            switch (args[1]) {
                case "acls" -> {
                    List<AclBinding> bindings = new ArrayList<>();
                    String line;
                    while ((line = stdin.readLine()) != null) {
                        line = line.strip();
                        if (line.isEmpty() || line.startsWith("#")) {
                            continue;
                        }
                        String[] f = line.split("\\s+");
                        if (f.length != 5) {
                            fail("bad ACL line (PRINCIPAL RESOURCE_TYPE PATTERN_TYPE NAME OPERATIONS): " + line);
                        }
                        ResourcePattern pattern = new ResourcePattern(
                            ResourceType.fromString(f[1]), f[3], PatternType.fromString(f[2]));
                        for (String op : f[4].split(",")) {
                            AclOperation operation = AclOperation.fromString(op.toUpperCase(Locale.ROOT));
                            if (operation == AclOperation.UNKNOWN) {
                                fail("unknown ACL operation " + op + " in: " + line);
                            }
                            bindings.add(new AclBinding(pattern,
                                new AccessControlEntry(f[0], "*", operation, AclPermissionType.ALLOW)));
                        }
                    }
                    admin.createAcls(bindings).all().get(60, TimeUnit.SECONDS);
                    System.out.println(bindings.size() + " ACL(s) in place");
                }
                case "scram" -> {
                    if (args.length != 3) {
                        fail("usage: SecureAdmin.java ADMIN.properties scram USER < password");
                    }
                    String password = stdin.readLine();
                    if (password == null || password.isBlank()) {
                        fail("no password on stdin");
                    }
                    admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(
                        args[2], new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), password.strip())))
                        .all().get(60, TimeUnit.SECONDS);
                    System.out.println("SCRAM-SHA-512 password of " + args[2] + " set");
                }
                default -> fail("unknown command " + args[1] + " (acls, scram)");
            }
        } catch (java.util.concurrent.ExecutionException exc) {
            fail(String.valueOf(exc.getCause()));
        } catch (Exception exc) {
            fail(String.valueOf(exc));
        }
    }

    private static void fail(String message) {
        System.err.println(message);
        System.exit(1);
    }
}
