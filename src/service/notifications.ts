import type { Bundle, Resource } from '@medplum/fhirtypes';
import type { RunDeps } from '../cohort';
import { sourceReferences } from '../cohort';
import type { FhirClient, SourceReferences } from '../fhir';
import type { Logger } from '../logging';
import { isManaged } from '../vocabulary';
import type { RunManager } from './runs';
import { RunInProgress } from './runs';

const RESOURCE_REF = /(?:^|\/)(Task|CarePlan|Flag|Patient)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

/** Which patients a notification is about: `all` when it carries nothing to tell (an empty rest-hook ping). */
export type NotificationTarget = { patients: string[] } | 'all';

/**
 * The patients a FHIR R4 Subscription notification concerns. The rest-hook body is the resource that changed (with
 * `payload` set), a Bundle of them, or empty. Only changes that move the programme count: the connector's own
 * Tasks, CarePlans and Flags (the MDT or a clinician updated them) and Patients (death, deregistration). An entry
 * with no resource is read from the endpoint to find its patient.
 */
export async function notificationTarget(
  body: unknown,
  endpoints: Pick<RunDeps, 'source' | 'record'>
): Promise<NotificationTarget> {
  if (!body || typeof body !== 'object' || Object.keys(body).length === 0) {
    return 'all';
  }
  const resource = body as Resource;
  const resources: (Resource | string)[] =
    resource.resourceType === 'Bundle'
      ? ((resource as Bundle).entry ?? []).map((e) => e.resource ?? e.fullUrl ?? e.request?.url ?? '')
      : [resource];
  const patients = new Set<string>();
  const source = sourceReferences(endpoints);
  for (const item of resources) {
    const found = typeof item === 'string' ? await readReferenced(item, endpoints) : item;
    const patientId = found && patientOf(found, source);
    if (patientId) {
      patients.add(patientId);
    }
  }
  return { patients: [...patients].sort() };
}

/** The patient a notified resource concerns; the programme's resources name them as the record names the source's. */
function patientOf(resource: Resource, source: SourceReferences): string | undefined {
  switch (resource.resourceType) {
    case 'Patient':
      return resource.id;
    case 'Task':
      return isManaged(resource) ? source.patientId(resource.for?.reference) : undefined;
    case 'CarePlan':
    case 'Flag':
      return isManaged(resource) ? source.patientId(resource.subject?.reference) : undefined;
    default:
      return undefined;
  }
}

/** A Patient from the source; the programme's Tasks, CarePlans and Flags from the record. */
async function readReferenced(
  reference: string,
  endpoints: Pick<RunDeps, 'source' | 'record'>
): Promise<Resource | undefined> {
  const match = RESOURCE_REF.exec(reference.split('?')[0] ?? '');
  if (!match) {
    return undefined;
  }
  const client: FhirClient = match[1] === 'Patient' ? endpoints.source : endpoints.record;
  try {
    return await client.read(match[1] as Resource['resourceType'], match[2] as string);
  } catch {
    return undefined; // gone, or not readable: nothing to refresh for it
  }
}

/**
 * Gathers notifications and refreshes once they stop arriving for `debounceMs`: a burst of changes (an MDT meeting
 * updating a dozen reviews) becomes one targeted run. A notification arriving while a run is in progress waits for it;
 * none is dropped.
 */
export class NotificationQueue {
  private patients = new Set<string>();
  private everyone = false;
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private closed = false;

  constructor(
    private readonly runs: RunManager,
    private readonly debounceMs: number,
    private readonly logger: Logger
  ) {}

  add(target: NotificationTarget): void {
    if (this.closed) {
      return;
    }
    if (target === 'all') {
      this.everyone = true;
    } else {
      target.patients.forEach((p) => this.patients.add(p));
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.flush(), this.debounceMs);
  }

  /** Stops scheduling runs (shutdown); what is pending is left to the next scheduled refresh. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  /** Resolves once everything added so far has been handed to a run (tests). */
  async idle(): Promise<void> {
    while (this.timer || this.flushing) {
      await (this.flushing ?? new Promise((resolve) => setTimeout(resolve, 10)));
    }
  }

  private async flush(): Promise<void> {
    this.timer = undefined;
    if (this.flushing || this.closed || (!this.everyone && !this.patients.size)) {
      return;
    }
    this.flushing = this.startRun();
    try {
      await this.flushing;
    } finally {
      this.flushing = undefined;
      // Notifications that arrived while this one waited for a run in progress get their own refresh.
      if (!this.closed && (this.everyone || this.patients.size) && !this.timer) {
        this.timer = setTimeout(() => void this.flush(), this.debounceMs);
      }
    }
  }

  private async startRun(): Promise<void> {
    for (;;) {
      await this.runs.settled();
      if (this.closed) {
        return;
      }
      const patients = this.everyone ? undefined : [...this.patients].sort();
      try {
        this.runs.start({ trigger: 'notification', patients });
        this.everyone = false;
        this.patients = new Set();
        this.logger.info('refresh on notification', { patients: patients?.length ?? 'all' });
        return;
      } catch (err) {
        if (!(err instanceof RunInProgress)) {
          throw err;
        }
      }
    }
  }
}
