/**
 * Fargate's valid task sizes for Linux, as data (AWS Fargate developer guide, "Task CPU and memory").
 * Each row: CPU units, and the memory range in MiB with its step.
 */
export const FARGATE_TASK_SIZES: readonly {
  readonly cpu: number;
  readonly minMemoryMiB: number;
  readonly maxMemoryMiB: number;
  readonly stepMiB: number;
}[] = [
  { cpu: 256, minMemoryMiB: 512, maxMemoryMiB: 2048, stepMiB: 512 },
  { cpu: 512, minMemoryMiB: 1024, maxMemoryMiB: 4096, stepMiB: 1024 },
  { cpu: 1024, minMemoryMiB: 2048, maxMemoryMiB: 8192, stepMiB: 1024 },
  { cpu: 2048, minMemoryMiB: 4096, maxMemoryMiB: 16384, stepMiB: 1024 },
  { cpu: 4096, minMemoryMiB: 8192, maxMemoryMiB: 30720, stepMiB: 1024 },
  { cpu: 8192, minMemoryMiB: 16384, maxMemoryMiB: 61440, stepMiB: 4096 },
  { cpu: 16384, minMemoryMiB: 32768, maxMemoryMiB: 122880, stepMiB: 8192 },
];

/** The memory values (MiB) Fargate accepts with `cpu`, or an empty list for an unknown CPU value. */
export function fargateMemoryOptions(cpu: number): number[] {
  const row = FARGATE_TASK_SIZES.find((r) => r.cpu === cpu);
  if (!row) return [];
  const options: number[] = [];
  for (let m = row.minMemoryMiB; m <= row.maxMemoryMiB; m += row.stepMiB) options.push(m);
  return options;
}

/** Whether Fargate runs a task of this CPU/memory pair. */
export function isValidFargateSize(cpu: number, memoryMiB: number): boolean {
  return fargateMemoryOptions(cpu).includes(memoryMiB);
}
