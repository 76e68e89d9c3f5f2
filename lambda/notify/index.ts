import { NotifyRequest, Outcome } from '../../lib/model/contracts';
import { notify } from './notify';

/** Step Functions task: builds the outcome and signals the stack's wait condition. */
export async function handler(event: NotifyRequest): Promise<Outcome> {
  return notify(event);
}
