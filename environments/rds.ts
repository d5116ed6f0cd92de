/**
 * RDS for PostgreSQL instance classes this project accepts, by family. A class outside this list is
 * more likely a typo than a deliberate choice; add it here (with a reviewed PR) when RDS offers it.
 */
export const RDS_POSTGRES_INSTANCE_CLASSES: Readonly<Record<string, readonly string[]>> = {
  t3: ['micro', 'small', 'medium', 'large', 'xlarge', '2xlarge'],
  t4g: ['micro', 'small', 'medium', 'large', 'xlarge', '2xlarge'],
  m5: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge'],
  m6g: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge'],
  m6i: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '32xlarge'],
  m7g: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge'],
  r5: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge'],
  r6g: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge'],
  r6i: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '32xlarge'],
  r7g: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge'],
};

/** gp3 storage bounds for RDS for PostgreSQL, in GiB. */
export const RDS_STORAGE_GIB = { min: 20, max: 65536 } as const;

/** CloudWatch Logs accepts only these retention periods, in days. */
export const LOG_RETENTION_DAYS: readonly number[] = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];
