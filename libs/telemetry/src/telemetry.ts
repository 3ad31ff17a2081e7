import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { context, diag, metrics, propagation, trace, ValueType, type BatchObservableResult } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, StackContextManager, TracerProvider } from '@opentelemetry/sdk-trace';
import { allDataPathCounts, Attr, Metric, observeBatch, resetInstruments } from './instruments.js';
import { samplerFromEnv } from './sampler.js';

export interface TelemetryOptions {
  /** `service.name`; OTEL_SERVICE_NAME overrides it. */
  serviceName: string;
  /** `service.instance.id`: the host id. */
  hostId: string;
  version: string;
  /** Serve Prometheus metrics (the diagnostic listener's /metrics). */
  metrics: boolean;
}

export interface Telemetry {
  /** The metrics in the Prometheus text format, when metrics are on. */
  readonly metricsText?: () => Promise<string>;
  /** Whether spans are exported (OTEL_EXPORTER_OTLP_ENDPOINT or _TRACES_ENDPOINT set). */
  readonly tracing: boolean;
  /** Sends what is buffered and stops. */
  shutdown(): Promise<void>;
}

/** The standard variables that send traces somewhere; without one, no span is recorded. */
function tracesWanted(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED === 'true' || env.OTEL_TRACES_EXPORTER === 'none') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * Starts this process's telemetry: spans over OTLP/HTTP when the standard variables say where, with the
 * W3C trace context in and out of the process; Prometheus metrics when asked. Call once, before the
 * services start.
 */
export function startTelemetry(opts: TelemetryOptions, env: NodeJS.ProcessEnv = process.env): Telemetry {
  const resource = resourceFromAttributes({
    'service.name': env.OTEL_SERVICE_NAME || opts.serviceName,
    'service.namespace': 'dbaccess',
    'service.instance.id': opts.hostId,
    'service.version': opts.version,
  });

  let tracerProvider: TracerProvider | undefined;
  if (tracesWanted(env)) {
    // A synchronous context (within context.with only): on Node 20 an AsyncLocalStorage would cost
    // every promise and socket write of the process an async hook, a quarter of the data path's CPU.
    // Work that crosses an await carries its trace explicitly (RpcClient.in, inSpan's parent).
    context.setGlobalContextManager(new StackContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    tracerProvider = new TracerProvider({
      resource,
      sampler: samplerFromEnv(env),
      spanProcessors: [
        new BatchSpanProcessor({
          exporter: new OTLPTraceExporter(),
          ...(Number(env.OTEL_BSP_SCHEDULE_DELAY) > 0 ? { scheduledDelayMillis: Number(env.OTEL_BSP_SCHEDULE_DELAY) } : {}),
        }),
      ],
    });
    trace.setGlobalTracerProvider(tracerProvider);
  }

  let meterProvider: MeterProvider | undefined;
  let exporter: PrometheusExporter | undefined;
  let stopRuntime = () => {};
  if (opts.metrics) {
    exporter = new PrometheusExporter({ preventServerStart: true });
    meterProvider = new MeterProvider({ resource, readers: [exporter] });
    metrics.setGlobalMeterProvider(meterProvider);
    resetInstruments();
    stopRuntime = observeProcess();
  }

  return {
    ...(exporter ? { metricsText: () => prometheusText(exporter) } : {}),
    tracing: tracerProvider !== undefined,
    async shutdown() {
      stopRuntime();
      await Promise.allSettled([tracerProvider?.shutdown(), meterProvider?.shutdown()]);
    },
  };
}

const serializer = new PrometheusSerializer();

async function prometheusText(exporter: PrometheusExporter): Promise<string> {
  const { resourceMetrics, errors } = await exporter.collect();
  if (errors.length) diag.error('metrics collection errors', ...errors);
  return serializer.serialize(resourceMetrics);
}

/** The runtime's own gauges, and the data path's counts, read at each collection. */
function observeProcess(): () => void {
  const meter = metrics.getMeter('dbaccess');
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const seconds = { unit: 's', valueType: ValueType.DOUBLE };
  const bytes = { unit: 'By', valueType: ValueType.INT };
  const p50 = meter.createObservableGauge(Metric.EventLoopDelayP50, {
    ...seconds,
    description: 'Event loop delay, median since the last collection',
  });
  const p99 = meter.createObservableGauge(Metric.EventLoopDelayP99, {
    ...seconds,
    description: 'Event loop delay, 99th percentile since the last collection',
  });
  const max = meter.createObservableGauge(Metric.EventLoopDelayMax, {
    ...seconds,
    description: 'Event loop delay, longest since the last collection',
  });
  const heapUsed = meter.createObservableGauge(Metric.HeapUsed, { ...bytes, description: 'V8 heap in use' });
  const heapLimit = meter.createObservableGauge(Metric.HeapLimit, { ...bytes, description: 'V8 heap size limit' });
  const rss = meter.createObservableGauge(Metric.MemoryUsage, { ...bytes, description: 'Resident set size of the process' });
  const cpu = meter.createObservableCounter(Metric.CpuTime, {
    ...seconds,
    description: 'CPU time of the process, by cpu.mode (user, system)',
  });
  const statements = meter.createObservableCounter(Metric.Statements, {
    unit: '{statement}',
    valueType: ValueType.INT,
    description: 'Statements clients ran: simple-protocol queries and extended-protocol executions',
  });
  const io = meter.createObservableCounter(Metric.SessionIo, {
    ...bytes,
    description: 'Bytes of database sessions, by network.io.direction: receive (from clients), transmit (to clients)',
  });
  const observe = (result: BatchObservableResult) => {
    result.observe(p50, delay.percentile(50) / 1e9);
    result.observe(p99, delay.percentile(99) / 1e9);
    result.observe(max, delay.max / 1e9);
    delay.reset();
    const heap = getHeapStatistics();
    result.observe(heapUsed, heap.used_heap_size);
    result.observe(heapLimit, heap.heap_size_limit);
    result.observe(rss, process.memoryUsage.rss());
    const usage = process.cpuUsage();
    result.observe(cpu, usage.user / 1e6, { 'cpu.mode': 'user' });
    result.observe(cpu, usage.system / 1e6, { 'cpu.mode': 'system' });
    for (const [database, counts] of allDataPathCounts()) {
      result.observe(statements, counts.statements, { [Attr.Database]: database });
      result.observe(io, counts.bytesFromClient, { [Attr.Database]: database, [Attr.Direction]: 'receive' });
      result.observe(io, counts.bytesToClient, { [Attr.Database]: database, [Attr.Direction]: 'transmit' });
    }
  };
  const observables = [p50, p99, max, heapUsed, heapLimit, rss, cpu, statements, io];
  const stop = observeBatch(observables, observe);
  return () => {
    stop();
    delay.disable();
  };
}
