// The Java side of the Avro interoperability test (tests/interop/run).
//
// Apache Avro for Java is an implementation independent of ours. For every
// schema in SCHEMA_DIR this program:
//   1. checks that Java's Parsing Canonical Form fingerprint equals the one
//      tuodi computed (DIR/fingerprints.txt, written by the C side);
//   2. decodes every frame tuodi wrote (DIR/<Name>.c.bin) with Java's
//      single-object decoder, which refuses a frame whose header fingerprint
//      it does not know, validates the record against the schema, re-encodes
//      it and requires the very same bytes;
//   3. writes N random records of its own (DIR/<Name>.java.bin, seeded) for
//      the C side to decode and re-encode.
// Frames in the .bin files are a 4-byte big-endian length, then the frame.
//
// Usage: java -cp 'JARS/*' AvroInterop.java SCHEMA_DIR DIR N SEED
import java.io.*;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.*;
import org.apache.avro.message.*;

public class AvroInterop {
    static final String CHARS = "abcXYZ019 -_户主张王李淮南凤台县田家庵区谢家集毛集实验区潘集八公山寿县";

    public static void main(String[] args) throws Exception {
        Path schemaDir = Paths.get(args[0]);
        Path dir = Paths.get(args[1]);
        int n = Integer.parseInt(args[2]);
        long seed = Long.parseLong(args[3]);

        Map<String, Long> cFingerprints = new HashMap<>();
        for (String line : Files.readAllLines(dir.resolve("fingerprints.txt"))) {
            String[] p = line.trim().split("\\s+");
            if (p.length == 2) cFingerprints.put(p[0], Long.parseUnsignedLong(p[1], 16));
        }

        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(schemaDir, "*.avsc")) {
            for (Path p : ds) files.add(p);
        }
        Collections.sort(files);
        if (files.isEmpty()) throw new IllegalStateException("no schemas in " + schemaDir);

        SchemaStore.Cache store = new SchemaStore.Cache();
        List<Schema> schemas = new ArrayList<>();
        for (Path p : files) {
            Schema s = new Schema.Parser().parse(p.toFile()); // validates defaults
            schemas.add(s);
            store.addSchema(s);
        }

        int failures = 0;
        Random rnd = new Random(seed);
        for (Schema s : schemas) {
            String name = s.getFullName();
            long fp = SchemaNormalization.parsingFingerprint64(s);
            Long cfp = cFingerprints.get(name);
            if (cfp == null || cfp != fp) {
                System.out.printf("java: %s: fingerprint %016x, tuodi said %s%n", name, fp,
                                  cfp == null ? "nothing" : String.format("%016x", cfp));
                failures++;
            }

            BinaryMessageDecoder<GenericRecord> dec =
                new BinaryMessageDecoder<>(GenericData.get(), s, store);
            BinaryMessageEncoder<GenericRecord> enc =
                new BinaryMessageEncoder<>(GenericData.get(), s);
            int decoded = 0;
            for (byte[] frame : readFrames(dir.resolve(s.getName() + ".c.bin"))) {
                GenericRecord r = dec.decode(frame);
                if (!GenericData.get().validate(s, r)) {
                    System.out.printf("java: %s: record %d does not validate%n", name, decoded);
                    failures++;
                }
                byte[] again = toBytes(enc.encode(r));
                if (!Arrays.equals(frame, again)) {
                    System.out.printf("java: %s: record %d re-encodes differently%n", name, decoded);
                    failures++;
                }
                decoded++;
            }
            if (decoded == 0) {
                System.out.printf("java: %s: no records from tuodi%n", name);
                failures++;
            }

            List<byte[]> out = new ArrayList<>();
            for (int i = 0; i < n; i++)
                out.add(toBytes(enc.encode((GenericRecord) random(s, rnd, 0))));
            writeFrames(dir.resolve(s.getName() + ".java.bin"), out);
            System.out.printf("java: %s: fingerprint %016x matches; decoded and re-encoded %d records from tuodi byte for byte; wrote %d%n",
                              name, fp, decoded, n);
        }
        System.out.printf("java: %d schemas, %d failures%n", schemas.size(), failures);
        System.exit(failures == 0 ? 0 : 1);
    }

    static byte[] toBytes(ByteBuffer b) {
        byte[] a = new byte[b.remaining()];
        b.get(a);
        return a;
    }

    static List<byte[]> readFrames(Path p) throws IOException {
        List<byte[]> frames = new ArrayList<>();
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(p)))) {
            while (true) {
                int len;
                try {
                    len = in.readInt();
                } catch (EOFException e) {
                    break;
                }
                byte[] f = new byte[len];
                in.readFully(f);
                frames.add(f);
            }
        }
        return frames;
    }

    static void writeFrames(Path p, List<byte[]> frames) throws IOException {
        try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(p)))) {
            for (byte[] f : frames) {
                out.writeInt(f.length);
                out.write(f);
            }
        }
    }

    static String randomString(Random r) {
        int len = r.nextInt(12);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < len; i++) sb.append(CHARS.charAt(r.nextInt(CHARS.length())));
        return sb.toString();
    }

    static Object random(Schema s, Random r, int depth) {
        switch (s.getType()) {
        case RECORD: {
            GenericData.Record rec = new GenericData.Record(s);
            for (Schema.Field f : s.getFields()) rec.put(f.pos(), random(f.schema(), r, depth + 1));
            return rec;
        }
        case ENUM: {
            List<String> syms = s.getEnumSymbols();
            return new GenericData.EnumSymbol(s, syms.get(r.nextInt(syms.size())));
        }
        case ARRAY: {
            int len = depth > 4 ? 0 : r.nextInt(4);
            List<Object> l = new GenericData.Array<>(len, s);
            for (int i = 0; i < len; i++) l.add(random(s.getElementType(), r, depth + 1));
            return l;
        }
        case MAP: {
            int len = depth > 4 ? 0 : r.nextInt(3);
            Map<String, Object> m = new LinkedHashMap<>();
            for (int i = 0; i < len; i++) m.put(randomString(r) + i, random(s.getValueType(), r, depth + 1));
            return m;
        }
        case UNION: {
            List<Schema> b = s.getTypes();
            return random(b.get(r.nextInt(b.size())), r, depth + 1);
        }
        case FIXED: {
            byte[] f = new byte[s.getFixedSize()];
            r.nextBytes(f);
            return new GenericData.Fixed(s, f);
        }
        case STRING: return randomString(r);
        case BYTES: {
            byte[] b = new byte[r.nextInt(8)];
            r.nextBytes(b);
            return ByteBuffer.wrap(b);
        }
        case INT: return r.nextBoolean() ? r.nextInt(40000) : r.nextInt();
        case LONG: return r.nextBoolean() ? (long) r.nextInt(100000000) : r.nextLong();
        case FLOAT: return r.nextFloat();
        case DOUBLE: return r.nextDouble();
        case BOOLEAN: return r.nextBoolean();
        case NULL: return null;
        default: throw new IllegalArgumentException(s.toString());
        }
    }
}
