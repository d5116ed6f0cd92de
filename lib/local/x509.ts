import { createHash, generateKeyPairSync, sign, X509Certificate } from 'node:crypto';

/**
 * Self-signed RSA certificates built with node:crypto alone (a minimal DER encoder), so the certlogin
 * TLS test needs no openssl and no committed private key. Test support only.
 */
export interface TestCertificate {
  readonly cert: string;
  readonly key: string;
  /** SHA-256 fingerprint as Node's getPeerCertificate() reports it (`AA:BB:…`). */
  readonly fingerprint256: string;
}

export function selfSignedCertificate(
  commonName: string,
  options: { ipAddresses?: string[]; dnsNames?: string[] } = {},
): TestCertificate {
  // Betfair accepts 1024- or 2048-bit RSA client certificates.
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const sha256WithRsa = seq(oid('1.2.840.113549.1.1.11'), Buffer.from([0x05, 0x00]));
  const now = Date.now();
  const altNames = [
    ...(options.dnsNames ?? []).map((d) => tlv(0x82, Buffer.from(d, 'ascii'))),
    ...(options.ipAddresses ?? []).map((ip) => tlv(0x87, Buffer.from(ip.split('.').map(Number)))),
  ];
  const extensions = altNames.length
    ? [explicit(3, seq(seq(oid('2.5.29.17'), tlv(0x04, seq(...altNames)))))]
    : [];
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(
      createHash('sha256')
        .update(commonName + now)
        .digest()
        .subarray(0, 8),
    ),
    sha256WithRsa,
    name(commonName),
    seq(utcTime(new Date(now - 60_000)), utcTime(new Date(now + 24 * 3600_000))),
    name(commonName),
    publicKey.export({ type: 'spki', format: 'der' }),
    ...extensions,
  );
  const der = seq(
    tbs,
    sha256WithRsa,
    tlv(0x03, Buffer.concat([Buffer.from([0]), sign('sha256', tbs, privateKey)])),
  );
  const cert = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;
  return {
    cert,
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    fingerprint256: new X509Certificate(cert).fingerprint256,
  };
}

function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const length =
    n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, content]);
}

const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const explicit = (n: number, content: Buffer) => tlv(0xa0 + n, content);
const integer = (bytes: Buffer) =>
  tlv(0x02, bytes[0] & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
const name = (cn: string) => seq(tlv(0x31, seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn, 'utf8')))));

function utcTime(d: Date): Buffer {
  const p = (n: number) => String(n).padStart(2, '0');
  const text = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return tlv(0x17, Buffer.from(text, 'ascii'));
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const bytes = [40 * a + b];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = n >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}
