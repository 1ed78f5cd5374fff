/**
 * The processes of a simulated host: each socket belongs to one, and its id, image path and user are
 * what WFP's ALE layers see (ALE_APP_ID, ALE_USER_ID, PROCESS_ID / PROCESS_PATH metadata, §G.3).
 */
import { type ProcessFacts, type ProcessSpec, processFacts } from "../shim/index.ts";

export class Process {
  readonly facts: ProcessFacts;
  constructor(
    readonly spec: ProcessSpec,
    /** A name for logs and scenario outcomes. */
    readonly name: string,
  ) {
    this.facts = processFacts(spec);
  }

  get processId(): bigint {
    return this.facts.processId;
  }
}

/** The kernel: the owner of the stack's own endpoints (ICMP echo replies, RSTs, errors): app id "System" (G17). */
export function systemProcess(): Process {
  return new Process({ processId: 4, imagePath: "System", userSid: "S-1-5-18" }, "System");
}
