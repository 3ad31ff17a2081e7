// deploy/kubernetes without a cluster: every document against the Kubernetes API's schemas, unknown
// fields included (as kubectl --validate=strict refuses them), then against docker-compose.yml, the
// reference the manifests are adapted from, and the trust boundary their network policies draw.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as autoscalingV2 from 'kubernetes-models/autoscaling/v2';
import * as networkingV1 from 'kubernetes-models/networking.k8s.io/v1';
import type { INetworkPolicyPeer } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer';
import type { INetworkPolicySpec } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicySpec';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as coreV1 from 'kubernetes-models/v1';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import type { IServiceSpec } from 'kubernetes-models/v1/ServiceSpec';
import { parse, parseAllDocuments } from 'yaml';
import { FileConfigSchema, type FileConfig } from '#libs/config';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIR = join(ROOT, 'deploy/kubernetes');
const NAMESPACE = 'dbaccess';
const IMAGE = 'dbaccess:latest';
const KEK = 'DBACCESS_KEK';

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

const YAML_FILE = /\.ya?ml$/;
// Read as kubectl reads them: sigs.k8s.io/yaml is YAML 1.1, where 0400 is octal and yes is true.
const manifests = readdirSync(DIR)
  .filter((file) => YAML_FILE.test(file) && file !== 'kustomization.yaml')
  .sort()
  .flatMap((file) =>
    parseAllDocuments(readFileSync(join(DIR, file), 'utf8'), { version: '1.1' }).map((doc) => {
      if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      return { file, doc: doc.toJS() as Manifest };
    }),
  );

function find(kind: string, name: string): Manifest {
  const found = manifests.find(({ doc }) => doc.kind === kind && doc.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in deploy/kubernetes`);
  return found.doc;
}

// ---------------------------------------------------------------------------------------------------
// The Kubernetes API's schemas

type ModelClass = { apiVersion: string; kind: string; prototype: { validate(): void } };
const MODELS = new Map<string, ModelClass>(
  [coreV1, appsV1, autoscalingV2, networkingV1, policyV1].flatMap((group) =>
    Object.values(group).flatMap((value) => {
      const model = value as Partial<ModelClass>;
      return typeof value === 'function' && model.apiVersion && model.kind
        ? [[`${model.apiVersion} ${model.kind}`, model as ModelClass]]
        : [];
    }),
  ),
);

/**
 * What the API server and kubectl --validate=strict would refuse in a document. kubernetes-models'
 * validators, compiled from the Kubernetes OpenAPI schemas, check types, required fields and formats
 * but let unknown fields through. Each of them reads every field its schema declares, and every key of
 * a map (labels, a ConfigMap's data), so a field none of them read is one the API does not have.
 */
function problems(doc: Manifest): string[] {
  const model = MODELS.get(`${doc.apiVersion} ${doc.kind}`);
  if (!model) return [`no schema for ${doc.apiVersion} ${doc.kind}`];
  const fields: string[] = [];
  const read = new Set<string>();
  const watched = (value: unknown, path: string): unknown => {
    if (value === null || typeof value !== 'object') return value;
    const at = (key: string) => (Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key);
    const entries = Object.entries(value).map(([key, v]) => {
      fields.push(at(key));
      return [key, watched(v, at(key))] as const;
    });
    return new Proxy(Array.isArray(value) ? entries.map(([, v]) => v) : Object.fromEntries(entries), {
      get(target, key, receiver) {
        if (typeof key === 'string') read.add(at(key));
        return Reflect.get(target, key, receiver) as unknown;
      },
      ownKeys(target) {
        for (const key of Object.keys(target)) read.add(at(key));
        return Reflect.ownKeys(target);
      },
    });
  };
  const found: string[] = [];
  try {
    model.prototype.validate.call(watched(doc, ''));
  } catch (err) {
    found.push((err as Error).message);
  }
  return [...found, ...fields.filter((field) => !read.has(field)).map((field) => `unknown field ${field}`)];
}

describe('deploy/kubernetes against the Kubernetes API', () => {
  it.each(manifests.map(({ file, doc }) => [`${file}: ${doc.kind} ${doc.metadata.name}`, doc] as const))('%s', (_, doc) => {
    expect(problems(doc)).toEqual([]);
    expect(doc.metadata.namespace).toBe(doc.kind === 'Namespace' ? undefined : NAMESPACE);
  });

  // The validator is only worth its silence if it speaks up: each of these must be refused.
  it.each<[string, string, string, (doc: any) => unknown, RegExp]>([
    ['an unknown field', 'Deployment', 'proxy', (d) => (d.spec.replica = 3), /^unknown field spec\.replica$/],
    [
      'a misspelt container field',
      'Deployment',
      'db',
      (d) => (d.spec.template.spec.containers[0].imagePullPolic = 'Always'),
      /^unknown field spec\.template\.spec\.containers\[0\]\.imagePullPolic$/,
    ],
    [
      'an unknown field in metadata',
      'ConfigMap',
      'teleport-edge',
      (d) => (d.metadata.namespce = 'dbaccess'),
      /^unknown field metadata\.namespce$/,
    ],
    ['a count as text', 'StatefulSet', 'nats', (d) => (d.spec.replicas = '3'), /spec\/replicas must be integer/],
    ['a port as text', 'Service', 'proxy', (d) => (d.spec.ports[0].port = '3080'), /spec\/ports\/0\/port must be integer/],
    ['a list as a map', 'NetworkPolicy', 'nats', (d) => (d.spec.policyTypes = { Ingress: true }), /spec\/policyTypes must be array/],
    ['a missing selector', 'Deployment', 'auth', (d) => delete d.spec.selector, /spec must have required property '?selector'?/],
    [
      'a container without a name',
      'Deployment',
      'audit',
      (d) => delete d.spec.template.spec.containers[0].name,
      /containers\/0 must have required property '?name'?/,
    ],
    [
      'a misspelt kind',
      'HorizontalPodAutoscaler',
      'db',
      (d) => (d.kind = 'HorizontalPodAutoscalar'),
      /^no schema for autoscaling\/v2 HorizontalPodAutoscalar$/,
    ],
  ])('refuses %s', (_, kind, name, mutate, refusal) => {
    const doc = structuredClone(find(kind, name));
    expect(problems(doc)).toEqual([]);
    mutate(doc);
    expect(problems(doc)).toEqual(expect.arrayContaining([expect.stringMatching(refusal)]));
  });
});

// ---------------------------------------------------------------------------------------------------
// docker-compose.yml, the reference

interface ComposeService {
  image?: string;
  entrypoint?: string[];
  command?: string[];
  restart?: string;
  environment?: Record<string, string>;
  ports?: string[];
  /** Short syntax only, as docker-compose.yml writes them: source:target[:ro]. */
  volumes?: string[];
  healthcheck?: { test?: string[] };
}
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const composeServices = Object.entries(compose.services);
/** The line of a compose one-shot's script that starts with `command`. */
const scriptLine = (service: string, command: string) =>
  compose.services[service]!.command!.flatMap((script) => script.split('\n').map((line) => line.trim())).find((line) =>
    line.startsWith(command),
  )!;
/** Compose's one-shots, and where their work is done here. */
const ONE_SHOTS: Record<string, string | undefined> = {
  // Each NATS pod's init container configures its own node.
  'nats-config': 'nats',
  // The demo database's certificate: docs/kubernetes.md has the commands (a pod would need the admin
  // identity on auth's volume and write access to Secrets).
  init: undefined,
};

/** Compose's bind mounts and volumes that are ConfigMaps and Secrets here. */
const COUNTERPARTS: Record<string, string> = {
  './deploy/compose/teleport.yaml': 'teleport-control',
  './deploy/compose/proxy.yaml': 'teleport-proxy',
  './deploy/compose/edge.yaml': 'teleport-edge',
  'cluster-keys': 'dbaccess-bus-keys',
  'join-token': 'dbaccess-join-token',
  'proxy-join-token': 'dbaccess-proxy-join-token',
  'demo-certs': 'demo-postgres-tls',
};
const composeConfig = (file: string) => parse(readFileSync(join(ROOT, 'deploy/compose', file), 'utf8')) as FileConfig;

interface Workload {
  name: string;
  labels: Record<string, string>;
  pod: IPodSpec;
}
const workloads: Workload[] = manifests.flatMap(({ doc }) => {
  if (!['Deployment', 'StatefulSet', 'Job'].includes(doc.kind)) return [];
  const template = (doc.spec as { template: { metadata: { labels: Record<string, string> }; spec: IPodSpec } }).template;
  return [{ name: doc.metadata.name, labels: template.metadata.labels, pod: template.spec }];
});
const workload = (name: string) => workloads.find((w) => w.name === name)!;
const names = (ws: Workload[]) => ws.map((w) => w.name).sort();
const plane = (w: Workload) => w.labels['dbaccess.io/plane'];
const allContainers = (w: Workload) => [...(w.pod.initContainers ?? []), ...w.pod.containers];

function probePort(container: IContainer, probe: IProbe | undefined): { path: string | undefined; port: number | undefined } {
  const port = probe?.httpGet?.port;
  return {
    path: probe?.httpGet?.path,
    port: typeof port === 'number' ? port : container.ports?.find((p) => p.name === port)?.containerPort,
  };
}

/** Each ConfigMap's teleport.yaml, read as `teleport start` reads it. */
const configs = new Map(
  manifests
    .filter(({ doc }) => doc.kind === 'ConfigMap' && (doc.data as Record<string, string>)['teleport.yaml'])
    .map(({ doc }) => [doc.metadata.name, parse((doc.data as Record<string, string>)['teleport.yaml']!) as FileConfig]),
);

describe('deploy/kubernetes against docker-compose.yml', () => {
  it('runs each long-running compose service as a workload of its name, from the same image with the same command', () => {
    const running = composeServices.filter(([, s]) => s.restart !== 'no');
    expect(running.length).toBeGreaterThan(0);
    for (const [name, service] of running) {
      const container = workload(name)?.pod.containers[0];
      expect({ name, image: container?.image, command: container?.command, args: container?.args }).toEqual({
        name,
        image: service.image,
        command: service.entrypoint,
        args: service.command,
      });
    }
    expect(composeServices.filter(([name, s]) => s.restart === 'no' && !(name in ONE_SHOTS))).toEqual([]);
  });

  it("configures each NATS node as compose's nats-config does, one node of a three-node cluster", () => {
    const line = scriptLine('nats-config', 'teleport nats configure ');
    const configure = workload(ONE_SHOTS['nats-config']!).pod.initContainers!.find((c) => c.image === IMAGE)!;
    const clusterFlags = /^--(server-name|cluster-name|cluster-listen|routes|monitor-listen)=/;
    expect(configure.args!.filter((arg) => !clusterFlags.test(arg))).toEqual(line.split(/\s+/).slice(1));
    expect(configure.args!.filter((arg) => clusterFlags.test(arg))).toEqual([
      '--server-name=$(POD_NAME)',
      '--cluster-name=dbaccess',
      '--cluster-listen=0.0.0.0:6222',
      '--monitor-listen=0.0.0.0:8222',
      '--routes=nats://nats-0.nats:6222,nats://nats-1.nats:6222,nats://nats-2.nats:6222',
    ]);
  });

  it("has docs/kubernetes.md sign the demo database's certificate as compose's init does", () => {
    const line = scriptLine('init', 'tctl auth sign ');
    expect(readFileSync(join(ROOT, 'docs/kubernetes.md'), 'utf8')).toContain(`exec deploy/auth -- ${line}`);
  });

  it("publishes the proxy's port, 3080, as compose does", () => {
    const [published] = compose.services.proxy!.ports!;
    const port = Number(published!.split(':').at(-1));
    expect(port).toBe(3080);
    expect(workload('proxy').pod.containers[0]!.ports).toContainEqual({ name: 'web', containerPort: port });
    const service = find('Service', 'proxy').spec as { type: string; ports: { port: number; targetPort: string }[] };
    expect(service.type).toBe('LoadBalancer');
    expect(service.ports).toEqual([{ name: 'web', port, targetPort: 'web' }]);
  });

  it("probes every dbaccess container where compose's health check looks: ready at /readyz, live at /healthz, on the diag port", () => {
    const url = new URL(compose.services.auth!.healthcheck!.test!.join(' ').match(/fetch\('([^']+)'\)/)![1]!);
    expect(url.pathname).toBe('/readyz');
    const diagPort = Number(url.port);
    for (const file of ['teleport.yaml', 'proxy.yaml', 'edge.yaml'])
      expect([file, composeConfig(file).teleport?.diag_addr]).toEqual([file, `127.0.0.1:${diagPort}`]);
    // The kubelet probes the pod's address.
    for (const [name, config] of configs) expect([name, config.teleport?.diag_addr]).toEqual([name, `0.0.0.0:${diagPort}`]);
    const probed = workloads.flatMap((w) => w.pod.containers.filter((c) => c.image === IMAGE).map((c) => [w.name, c] as const));
    expect(probed.map(([name]) => name).sort()).toEqual(['audit', 'auth', 'broker', 'db', 'inventory', 'provisioning', 'proxy']);
    for (const [name, container] of probed) {
      expect([name, probePort(container, container.readinessProbe)]).toEqual([name, { path: '/readyz', port: diagPort }]);
      expect([name, probePort(container, container.livenessProbe)]).toEqual([name, { path: '/healthz', port: diagPort }]);
    }
  });

  it('gives DBACCESS_KEK, from the Secret dbaccess-kek, to the control plane behind the proxies as compose does, never to the proxies or the edge', () => {
    const kekEnv = (w: Workload) =>
      allContainers(w)
        .flatMap((c) => c.env ?? [])
        .filter((e) => e.name === KEK);
    const expected = composeServices
      .filter(([, s]) => s.environment && KEK in s.environment)
      .flatMap(([name]) => (name in ONE_SHOTS ? (ONE_SHOTS[name] ?? []) : name));
    const withKek = workloads.filter((w) => kekEnv(w).length);
    expect(names(withKek)).toEqual(expected.sort());
    expect(names(withKek)).toEqual(names(workloads.filter((w) => plane(w) === 'control' && w.name !== 'proxy')));
    for (const env of withKek.flatMap(kekEnv))
      expect(env).toEqual({ name: KEK, valueFrom: { secretKeyRef: { name: 'dbaccess-kek', key: KEK } } });
    const edge = workloads.filter((w) => plane(w) === 'edge');
    expect(names(edge)).toEqual(['db', 'postgres', 'provisioning']);
    const busKeys = (w: Workload) => w.pod.volumes?.some((v) => v.secret?.secretName === 'dbaccess-bus-keys') ?? false;
    expect(edge.filter((w) => kekEnv(w).length || busKeys(w))).toEqual([]);
    expect([kekEnv(workload('proxy')), busKeys(workload('proxy'))]).toEqual([[], false]);
  });

  it('mounts in each long-running workload the configuration and the Secrets compose mounts in its service, read-only, at the same paths', () => {
    const running = composeServices.filter(([, s]) => s.restart !== 'no');
    for (const [name, service] of running) {
      const expected = (service.volumes ?? []).flatMap((volume) => {
        const [source, path, mode] = volume.split(':');
        const from = COUNTERPARTS[source!];
        return from ? [{ path, from, readOnly: mode === 'ro' }] : [];
      });
      const { pod } = workload(name);
      const found = (pod.containers[0]!.volumeMounts ?? []).flatMap((mount) => {
        const volume = pod.volumes?.find((v) => v.name === mount.name);
        const from = volume?.secret?.secretName ?? volume?.configMap?.name;
        return from ? [{ path: mount.mountPath, from, readOnly: mount.readOnly ?? false }] : [];
      });
      const byPath = (a: { path?: string }, b: { path?: string }) => (a.path ?? '').localeCompare(b.path ?? '');
      expect([name, found.sort(byPath)]).toEqual([name, expected.sort(byPath)]);
    }
  });

  it('mounts in each dbaccess container exactly the files its teleport.yaml has it read, read-only from the Secret that holds each', () => {
    const secretOf: Record<string, string> = {
      '/cluster/bus-keys.json': 'dbaccess-bus-keys',
      '/join/token': 'dbaccess-join-token',
      '/proxy-join/token': 'dbaccess-proxy-join-token',
    };
    // The files of auth_service.tokens are read by the auth service alone.
    const runsAuth = (c: IContainer) => c.args?.some((arg) => /^--roles=(.*,)?auth(-only)?(,|$)/.test(arg)) ?? false;
    const byPath = (a: { path: string }, b: { path: string }) => a.path.localeCompare(b.path);
    for (const w of workloads) {
      const volume = (name: string | undefined) => w.pod.volumes?.find((v) => v.name === name);
      for (const container of allContainers(w).filter((c) => c.image === IMAGE)) {
        const mounts = container.volumeMounts ?? [];
        const config = configs.get(volume(mounts.find((m) => m.mountPath === '/etc/teleport.yaml')?.name)?.configMap?.name ?? '')!;
        const files = [
          config.teleport?.nats?.keys_file,
          config.teleport?.auth_token,
          ...(runsAuth(container) ? (config.auth_service?.tokens ?? []) : []).map((entry) => entry.slice(entry.indexOf(':') + 1)),
        ].filter((path): path is string => Boolean(path?.startsWith('/')));
        expect(files.length).toBeGreaterThan(0);
        const expected = files.map((path) => ({ path: dirname(path), readOnly: true, secret: secretOf[path] }));
        const found = mounts.flatMap((m) => {
          const secret = volume(m.name)?.secret?.secretName;
          return secret ? [{ path: m.mountPath, readOnly: m.readOnly, secret }] : [];
        });
        expect([w.name, container.name, found.sort(byPath)]).toEqual([w.name, container.name, expected.sort(byPath)]);
      }
    }
  });

  it("keeps the control plane's secrets off the proxies: only their own join token, no KEK, no bus keys, no edge join token", () => {
    const secretsOf = (w: Workload) =>
      new Set(
        [
          ...(w.pod.volumes ?? []).flatMap((v) => [v.secret?.secretName, ...(v.projected?.sources ?? []).map((s) => s.secret?.name)]),
          ...allContainers(w).flatMap((c) => [
            ...(c.env ?? []).map((e) => e.valueFrom?.secretKeyRef?.name),
            ...(c.envFrom ?? []).map((e) => e.secretRef?.name),
          ]),
        ].filter((name): name is string => Boolean(name)),
      );
    const holding = (secret: string) => names(workloads.filter((w) => secretsOf(w).has(secret)));
    expect([...secretsOf(workload('proxy'))]).toEqual(['dbaccess-proxy-join-token']);
    expect(allContainers(workload('proxy')).flatMap((c) => (c.env ?? []).map((e) => e.name))).not.toContain(KEK);
    expect(holding('dbaccess-proxy-join-token')).toEqual(['auth', 'proxy']);
    // Among the control plane, the auth service alone reads the edge's token.
    expect(holding('dbaccess-join-token')).toEqual(
      ['auth', ...names(workloads.filter((w) => plane(w) === 'edge' && w.name !== 'postgres'))].sort(),
    );
    // The bus keys go where the KEK that opens them goes.
    expect(holding('dbaccess-bus-keys')).toEqual(holding('dbaccess-kek'));
    expect(holding('dbaccess-bus-keys')).not.toContain('proxy');
  });

  it("lets the proxies join at the Service auth, port 3025 of the auth pods, as compose's proxies join at auth:3025", () => {
    const control = configs.get('teleport-control')!;
    const proxy = configs.get('teleport-proxy')!;
    const composeControl = composeConfig('teleport.yaml');
    expect(control.auth_service?.listen_addr).toBe(composeControl.auth_service?.listen_addr);
    expect(proxy.teleport?.auth_server).toBe(composeConfig('proxy.yaml').teleport?.auth_server);
    const listenPort = Number(control.auth_service!.listen_addr!.split(':').at(-1));
    expect(listenPort).toBe(3025);
    const [host, port] = proxy.teleport!.auth_server!.split(':');
    const service = find('Service', host!).spec as IServiceSpec;
    expect(service.type ?? 'ClusterIP').toBe('ClusterIP');
    expect(names(workloads.filter((w) => selects({ matchLabels: service.selector }, w.labels)))).toEqual(['auth']);
    const servicePort = service.ports?.find((p) => p.port === Number(port));
    const auth = workload('auth').pod.containers[0]!;
    const target = servicePort?.targetPort ?? servicePort?.port;
    expect(typeof target === 'number' ? target : auth.ports?.find((p) => p.name === target)?.containerPort).toBe(listenPort);
  });

  it('has ConfigMaps that teleport accepts, naming the services, NATS nodes and replicas of these manifests', () => {
    for (const [name, config] of configs) expect([name, FileConfigSchema.safeParse(config).error?.message]).toEqual([name, undefined]);
    const control = configs.get('teleport-control')!;
    const edge = configs.get('teleport-edge')!;
    const nats = find('StatefulSet', 'nats').spec as { serviceName: string; replicas: number };
    const nodes = Array.from({ length: nats.replicas }, (_, i) => `nats-${i}.${nats.serviceName}`);
    expect(control.teleport?.nats?.servers).toEqual(nodes.map((node) => `nats://${node}:4222`));
    expect(control.teleport?.nats?.replicas).toBe(nats.replicas);
    const natsService = find('Service', nats.serviceName).spec as { clusterIP: string; ports: { port: number }[] };
    expect(natsService.clusterIP).toBe('None');
    expect(natsService.ports.map((p) => p.port)).toEqual(expect.arrayContaining([4222, 6222]));
    expect(control.teleport?.proxy_server).toBe('proxy:3080');
    // Every proxy pod's address: each Database Service keeps tunnels to each proxy.
    expect(edge.teleport?.proxy_server).toBe('proxy-headless:3080');
    const headless = find('Service', 'proxy-headless').spec as {
      clusterIP: string;
      selector: Record<string, string>;
      ports: { port: number }[];
    };
    expect(headless).toMatchObject({ clusterIP: 'None', selector: { 'app.kubernetes.io/name': 'proxy' }, ports: [{ port: 3080 }] });
    expect(configs.get('teleport-proxy')!.proxy_service?.public_addr).toContain('proxy:3080');
    expect(edge.teleport?.nats).toBeUndefined();
    // The control plane's static tokens are compose's: the same files, here from the Secrets.
    expect(control.auth_service?.tokens).toEqual(composeConfig('teleport.yaml').auth_service?.tokens);
  });

  it("has the proxies' ConfigMap be compose's proxy.yaml, with the NATS nodes and the diag address of teleport-control", () => {
    const composeProxy = composeConfig('proxy.yaml');
    const control = configs.get('teleport-control')!;
    expect(configs.get('teleport-proxy')).toEqual({
      ...composeProxy,
      teleport: { ...composeProxy.teleport, diag_addr: control.teleport?.diag_addr, nats: { servers: control.teleport?.nats?.servers } },
    });
    // Only the proxies read proxy_service: the control plane's configuration has none.
    expect(control.proxy_service).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------------
// The trust boundary: the edge reaches the cluster through the proxies alone

interface Pod {
  namespace: string;
  labels: Record<string, string>;
}
type Selector = { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] };

function selects(selector: Selector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  return (
    Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value) &&
    (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
      const value = labels[key];
      switch (operator) {
        case 'In':
          return value !== undefined && values.includes(value);
        case 'NotIn':
          return value === undefined || !values.includes(value);
        case 'Exists':
          return value !== undefined;
        case 'DoesNotExist':
          return value === undefined;
        default:
          throw new Error(`selector operator ${operator}`);
      }
    })
  );
}

const policies = manifests.filter(({ doc }) => doc.kind === 'NetworkPolicy').map(({ doc }) => doc.spec as INetworkPolicySpec);

/** An ipBlock may hold any pod's address: it matches all. */
function peerMatches(peer: INetworkPolicyPeer, pod: Pod): boolean {
  if (peer.ipBlock) return true;
  const namespaceOk = peer.namespaceSelector
    ? selects(peer.namespaceSelector, { 'kubernetes.io/metadata.name': pod.namespace })
    : pod.namespace === NAMESPACE;
  return namespaceOk && selects(peer.podSelector, pod.labels);
}

/** Whether the policies let `subject` send to (Egress) or take from (Ingress) `other` on `port`. */
function allowed(direction: 'Ingress' | 'Egress', subject: Pod, other: Pod, port: number): boolean {
  // Another namespace's pods are under its policies, not these.
  if (subject.namespace !== NAMESPACE) return true;
  const applying = policies.filter(
    (p) =>
      selects(p.podSelector, subject.labels) && (p.policyTypes ?? (p.egress ? ['Ingress', 'Egress'] : ['Ingress'])).includes(direction),
  );
  // A pod no policy selects is not isolated.
  if (!applying.length) return true;
  const rules = applying.flatMap((p) =>
    direction === 'Ingress'
      ? (p.ingress ?? []).map((r) => [r.from, r.ports] as const)
      : (p.egress ?? []).map((r) => [r.to, r.ports] as const),
  );
  // No port is every port; a named one might be this one.
  const portMatches = (p: { port?: number | string }) => p.port === undefined || p.port === port || typeof p.port === 'string';
  return rules.some(
    ([peers, ports]) => (!peers?.length || peers.some((peer) => peerMatches(peer, other))) && (!ports?.length || ports.some(portMatches)),
  );
}

const reaches = (from: Pod, to: Pod, port: number) => allowed('Egress', from, to, port) && allowed('Ingress', to, from, port);
const podOf = (name: string): Pod => ({ namespace: NAMESPACE, labels: workload(name).labels });

describe('the trust boundary the network policies draw', () => {
  const edge = workloads.filter((w) => plane(w) === 'edge').map((w) => w.name);
  const control = workloads.filter((w) => plane(w) === 'control').map((w) => w.name);
  const nats = podOf('nats');

  it('lets nothing through by default, in or out', () => {
    expect(policies).toContainEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  });

  // Twice over: the edge's way out and NATS's way in each refuse it, so one policy edited wrong is not enough.
  it('keeps the edge away from NATS, clients and routes alike, on its way out and on the way in', () => {
    expect(edge.length).toBeGreaterThan(0);
    for (const name of edge) {
      const pod = podOf(name);
      const ways = [4222, 6222].flatMap((port) => [allowed('Egress', pod, nats, port), allowed('Ingress', nats, pod, port)]);
      expect([name, ways]).toEqual([name, [false, false, false, false]]);
    }
  });

  it("admits NATS's clients from the control plane only, and its routes from its own nodes only", () => {
    for (const name of control) expect([name, reaches(podOf(name), nats, 4222)]).toEqual([name, true]);
    expect(reaches(nats, nats, 6222)).toBe(true);
    const strangers: Pod[] = [
      { namespace: NAMESPACE, labels: {} },
      { namespace: NAMESPACE, labels: { 'dbaccess.io/plane': 'edge' } },
      { namespace: 'default', labels: { 'dbaccess.io/plane': 'control' } },
    ];
    for (const stranger of strangers)
      expect([stranger, reaches(stranger, nats, 4222), reaches(stranger, nats, 6222)]).toEqual([stranger, false, false]);
    for (const name of control.filter((n) => n !== 'nats')) expect([name, reaches(podOf(name), nats, 6222)]).toEqual([name, false]);
  });

  it("lets the proxies, and nothing else, reach the auth service's join port (3025)", () => {
    const auth = podOf('auth');
    for (const w of workloads) expect([w.name, reaches(podOf(w.name), auth, 3025)]).toEqual([w.name, w.name === 'proxy']);
    // Auth's way in admits the proxies alone, whatever the others' ways out allow.
    for (const w of workloads) expect([w.name, allowed('Ingress', auth, podOf(w.name), 3025)]).toEqual([w.name, w.name === 'proxy']);
    // Twice over for the edge, as for NATS.
    for (const name of edge)
      expect([name, allowed('Egress', podOf(name), auth, 3025), allowed('Ingress', auth, podOf(name), 3025)]).toEqual([name, false, false]);
    const strangers: Pod[] = [
      { namespace: NAMESPACE, labels: {} },
      { namespace: NAMESPACE, labels: { 'dbaccess.io/plane': 'control' } },
      { namespace: 'default', labels: podOf('proxy').labels },
    ];
    for (const stranger of strangers) expect([stranger, reaches(stranger, auth, 3025)]).toEqual([stranger, false]);
    // Joined, the proxies reach NATS as before.
    expect(reaches(podOf('proxy'), nats, 4222)).toBe(true);
  });

  it('lets the edge reach the proxies, and the Database Services their database', () => {
    for (const name of edge) expect([name, reaches(podOf(name), podOf('proxy'), 3080)]).toEqual([name, true]);
    for (const name of ['db', 'provisioning']) expect([name, reaches(podOf(name), podOf('postgres'), 5432)]).toEqual([name, true]);
    for (const name of control) expect([name, reaches(podOf(name), podOf('postgres'), 5432)]).toEqual([name, false]);
  });
});

describe('kustomization.yaml', () => {
  it('lists every manifest of deploy/kubernetes, and only those', () => {
    const kustomization = parse(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8')) as { kind: string; resources: string[] };
    expect(kustomization.kind).toBe('Kustomization');
    const files = readdirSync(DIR).filter((file) => YAML_FILE.test(file) && file !== 'kustomization.yaml');
    expect([...kustomization.resources].sort()).toEqual(files.sort());
    expect(new Set(kustomization.resources).size).toBe(kustomization.resources.length);
  });
});
