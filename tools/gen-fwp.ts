/**
 * Generates src/fwp/generated/*.ts from the WFP reference tables in ../shared/reference (layers.json,
 * fields.json, conditions.json, enums.json, sublayers.json, providers.json, errors.json; see that
 * folder's README.md). Every GUID and number in src/fwp comes from here: nothing is typed by hand.
 *
 *   npm run gen                       writes the files
 *   OPENWFP_REFERENCE_DIR=/x npm run gen   reads the tables from /x instead
 *
 * `generateFwp(dir)` returns the files as text without writing them; tools/gen-fwp.test.ts uses it to
 * fail when the committed output is stale.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** Where the generated files go, relative to the repository root. */
export const GENERATED_DIR = "src/fwp/generated";

const REFERENCE_FILES = [
  "layers.json",
  "fields.json",
  "conditions.json",
  "enums.json",
  "sublayers.json",
  "providers.json",
  "errors.json",
  "flows.json",
] as const;

/**
 * The reference folder: $OPENWFP_REFERENCE_DIR if set, else ../shared/reference next to the repository
 * (/work/shared/reference for a repository at /work/main). Throws with a clear message when missing.
 */
export function referenceDir(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.OPENWFP_REFERENCE_DIR;
  const dir =
    override !== undefined && override !== ""
      ? override
      : fileURLToPath(new URL("../../shared/reference/", import.meta.url));
  const missing = REFERENCE_FILES.filter((f) => !existsSync(join(dir, f)));
  if (missing.length > 0) {
    throw new Error(
      `gen-fwp: WFP reference tables not found in ${dir} (missing ${missing.join(", ")}). ` +
        "Expected ../shared/reference beside the repository, or set OPENWFP_REFERENCE_DIR.",
    );
  }
  return dir;
}

// ---- JSON shapes (only the members the generator reads) ----

interface JsonLayer {
  runtimeId: number;
  fwpsName: string;
  fwpmName: string | null;
  guid: string | null;
  isDiscard: boolean;
  discardOf: string | null;
  discardLayer: string | null;
  ipVersion: "V4" | "V6" | null;
  direction: string;
  family: string;
  subFamily: string;
  mode: "kernel" | "user";
  introducedNtddi: string;
  fieldsEnum: string | null;
  fieldCount: number | null;
  description: string;
}
interface JsonField {
  index: number;
  name: string;
  condition: string;
  conditionGuid: string;
  dataType: string | null;
  fieldType: string | null;
  dataTypeConfidence: string;
  introducedNtddi: string | null;
}
interface JsonFieldEnum {
  enumName: string;
  layers: string[];
  ipVersion: string | null;
  fields: JsonField[];
  aliases: { name: string; aliasOf: string; index: number }[];
}
interface JsonCondition {
  name: string;
  guid: string | null;
  status: string;
  aliasOf?: string;
  introducedNtddi?: string | null;
  conditionValueTypes?: string[];
  incomingDataTypes?: string[];
  fieldTypes?: string[];
  validAtLayers?: string[];
  valueSemantics?: string;
  netEventEnumTemplate?: boolean;
}
interface JsonEnumValue {
  name: string;
  value: number | string;
  bigint?: boolean;
  sentinel?: boolean;
  composite?: boolean;
  historical?: boolean;
}
interface JsonEnumGroup {
  kind: "enum" | "flags" | "values";
  cName?: string;
  description: string;
  values: JsonEnumValue[];
}
interface JsonError {
  name: string;
  value: number;
  code: number;
  ntstatusName: string;
  ntstatusHex: string;
  meaning: string;
}
interface JsonNtstatusOnly {
  name: string;
  value: number;
  code: number;
  meaning: string;
}
interface JsonNamedGuid {
  name: string;
  guid: string;
  aliasOf?: string;
  introducedNtddi?: string;
  description?: string;
  documentationOnly?: boolean;
}
interface JsonCallout extends JsonNamedGuid {
  layer: string | null;
  layerGuid: string | null;
  layerSource: string | null;
}

interface Reference {
  layers: { constants: Record<string, number | string>; layers: JsonLayer[] };
  fields: { layers: Record<string, { fieldsEnum: string | null }>; fieldEnums: Record<string, JsonFieldEnum> };
  conditions: { conditions: JsonCondition[] };
  enums: { groups: Record<string, JsonEnumGroup> };
  sublayers: { sublayers: JsonNamedGuid[] };
  providers: {
    providers: JsonNamedGuid[];
    callouts: JsonCallout[];
    providerContexts: JsonNamedGuid[];
    keyingModules: JsonNamedGuid[];
  };
  errors: { errors: JsonError[]; ntstatusOnly: JsonNtstatusOnly[] };
  flows: JsonFlow[];
}

interface JsonFlowStep {
  layer: string;
  packet: string;
  direction: string;
  note?: string;
  flags?: string[];
  side?: string;
  fragment?: number;
}
interface JsonFlow {
  scenario: string;
  role: string;
  ipVersion: number;
  steps: JsonFlowStep[];
  source: string;
  inferred?: boolean;
  notes?: string;
}

function readReference(dir: string): Reference {
  const read = (name: string): unknown => {
    const path = join(dir, name);
    try {
      return JSON.parse(readFileSync(path, "utf8"));
    } catch (e) {
      throw new Error(`gen-fwp: cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  return {
    layers: read("layers.json") as Reference["layers"],
    fields: read("fields.json") as Reference["fields"],
    conditions: read("conditions.json") as Reference["conditions"],
    enums: read("enums.json") as Reference["enums"],
    sublayers: read("sublayers.json") as Reference["sublayers"],
    providers: read("providers.json") as Reference["providers"],
    errors: read("errors.json") as Reference["errors"],
    flows: read("flows.json") as Reference["flows"],
  };
}

// ---- checks: refuse to generate from tables that break the invariants the code relies on ----

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`gen-fwp: ${message}`);
}

function checkGuid(guid: string | null, where: string): void {
  check(guid === null || GUID_RE.test(guid), `${where}: not a lower-case GUID: ${String(guid)}`);
}

function checkUnique(names: readonly string[], what: string): void {
  const seen = new Set<string>();
  for (const n of names) {
    check(!seen.has(n), `duplicate ${what} ${n}`);
    seen.add(n);
  }
}

function checkReference(ref: Reference): void {
  const layers = ref.layers.layers;
  layers.forEach((l, i) => {
    check(l.runtimeId === i, `layers.json: layer ${l.fwpsName} has runtimeId ${l.runtimeId} at position ${i}`);
    checkGuid(l.guid, l.fwpsName);
    check((l.guid === null) === (l.fwpmName === null), `${l.fwpsName}: GUID and FWPM name must both be present`);
    if (l.fieldsEnum !== null) {
      const e = ref.fields.fieldEnums[l.fieldsEnum];
      check(e !== undefined, `${l.fwpsName}: unknown fields enum ${l.fieldsEnum}`);
      check(e.fields.length === l.fieldCount, `${l.fwpsName}: fieldCount ${l.fieldCount} != ${e.fields.length}`);
    }
    check(ref.fields.layers[l.fwpsName]?.fieldsEnum === l.fieldsEnum, `${l.fwpsName}: fields.json disagrees`);
  });
  checkUnique(
    layers.map((l) => l.fwpsName),
    "FWPS layer",
  );
  checkUnique(
    layers.flatMap((l) => (l.fwpmName === null ? [] : [l.fwpmName])),
    "FWPM layer",
  );
  checkUnique(
    layers.flatMap((l) => (l.guid === null ? [] : [l.guid])),
    "layer GUID",
  );
  const layerNames = new Set(layers.map((l) => l.fwpsName));
  for (const l of layers) {
    if (l.discardOf !== null) check(layerNames.has(l.discardOf), `${l.fwpsName}: unknown base ${l.discardOf}`);
    if (l.discardLayer !== null) check(layerNames.has(l.discardLayer), `${l.fwpsName}: unknown ${l.discardLayer}`);
  }
  const conditionGuids = new Map<string, string | null>(ref.conditions.conditions.map((c) => [c.name, c.guid]));
  checkUnique(
    ref.conditions.conditions.map((c) => c.name),
    "condition",
  );
  for (const c of ref.conditions.conditions) {
    checkGuid(c.guid, c.name);
    if (c.aliasOf !== undefined) {
      check(conditionGuids.get(c.aliasOf) === c.guid, `${c.name}: alias of ${c.aliasOf} with another GUID`);
    }
  }
  for (const [name, e] of Object.entries(ref.fields.fieldEnums)) {
    e.fields.forEach((f, i) => {
      check(f.index === i, `${name}: field ${f.name} has index ${f.index} at position ${i}`);
      check(conditionGuids.get(f.condition) === f.conditionGuid, `${f.name}: condition GUID disagrees`);
    });
    checkUnique(
      e.fields.map((f) => f.conditionGuid),
      `condition GUID in ${name}`,
    );
  }
  const enumNames: string[] = [];
  for (const [group, g] of Object.entries(ref.enums.groups)) {
    check(/^[A-Z][A-Z0-9_]*$/.test(group), `enum group name ${group} is not an identifier`);
    for (const v of g.values) {
      enumNames.push(v.name);
      check(/^[A-Za-z_][A-Za-z0-9_]*$/.test(v.name), `${group}: ${v.name} is not an identifier`);
      check(
        typeof v.value === "number" ? Number.isSafeInteger(v.value) : v.bigint === true && /^\d+$/.test(v.value),
        `${group}.${v.name}: bad value ${String(v.value)}`,
      );
    }
  }
  checkUnique(enumNames, "enum value name");
  const namedGuids = [
    ...ref.sublayers.sublayers,
    ...ref.providers.providers,
    ...ref.providers.callouts,
    ...ref.providers.providerContexts,
    ...ref.providers.keyingModules,
  ];
  for (const n of namedGuids) checkGuid(n.guid, n.name);
  for (const c of ref.providers.callouts) checkGuid(c.layerGuid, c.name);
  checkUnique(
    ref.errors.errors.map((e) => e.name),
    "error",
  );
  const fwpmLayers = new Set(ref.layers.layers.map((l) => l.fwpmName));
  const conditionFlags = new Set(ref.enums.groups.FWP_CONDITION_FLAG?.values.map((v) => v.name) ?? []);
  checkUnique(
    ref.flows.map((f) => f.scenario),
    "flow scenario",
  );
  for (const f of ref.flows) {
    check(f.ipVersion === 4 || f.ipVersion === 6, `flow ${f.scenario}: ipVersion ${f.ipVersion}`);
    for (const step of f.steps) {
      check(fwpmLayers.has(step.layer), `flow ${f.scenario}: unknown layer ${step.layer}`);
      for (const flag of step.flags ?? []) check(conditionFlags.has(flag), `flow ${f.scenario}: unknown flag ${flag}`);
    }
  }
  for (const e of ref.errors.errors) {
    check(/^FWP_E_[A-Z0-9_]+$/.test(e.name), `error name ${e.name}`);
    check(Number.isInteger(e.value) && e.value >>> 0 === e.value, `${e.name}: value is not an unsigned 32-bit integer`);
    check(/^0x[0-9A-Fa-f]{8}$/.test(e.ntstatusHex), `${e.name}: ntstatusHex ${e.ntstatusHex}`);
  }
}

// ---- emitting ----

const HEADER = (sources: string): string =>
  `// Generated by tools/gen-fwp.ts from ../shared/reference/${sources}. Do not edit: run \`npm run gen\`.\n`;

const q = (s: string | null): string => (s === null ? "null" : JSON.stringify(s));

/** A union of string literals, one per line, or `never` when empty. */
function union(name: string, doc: string, members: readonly string[]): string {
  const body = members.length === 0 ? " never" : `\n${members.map((m) => `  | ${q(m)}`).join("\n")}`;
  return `/** ${doc} */\nexport type ${name} =${body};\n`;
}

function sortedUnique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

function genLayers(ref: Reference): string {
  const layers = ref.layers.layers;
  const out: string[] = [
    HEADER("layers.json"),
    `import type { Guid } from "../../base/guid.ts";\nimport type { FieldsEnumName } from "./fields.ts";\n\n`,
  ];
  out.push(
    union(
      "FwpsLayerName",
      "Every FWPS_LAYER_* run-time layer name.",
      layers.map((l) => l.fwpsName),
    ),
  );
  out.push(
    union(
      "FwpmLayerName",
      "Every FWPM_LAYER_* management layer name (RESERVED_LAYER_9/10 have none).",
      layers.flatMap((l) => (l.fwpmName === null ? [] : [l.fwpmName])),
    ),
  );
  out.push(
    union(
      "LayerDirection",
      "Traffic direction a layer sees (own classification; bidirectional = carries FWPM_CONDITION_DIRECTION).",
      sortedUnique(layers.map((l) => l.direction)),
    ),
  );
  out.push(
    union(
      "LayerFamily",
      "Own grouping of layers by the shim that classifies them.",
      sortedUnique(layers.map((l) => l.family)),
    ),
  );
  out.push(union("LayerSubFamily", "Finer grouping of layers.", sortedUnique(layers.map((l) => l.subFamily))));
  out.push(`
/** One row of layers.json. */
export interface LayerRow {
  readonly runtimeId: number;
  readonly fwpsName: FwpsLayerName;
  readonly fwpmName: FwpmLayerName | null;
  readonly guid: string | null;
  readonly discardOf: FwpsLayerName | null;
  readonly discardLayer: FwpsLayerName | null;
  readonly ipVersion: "V4" | "V6" | null;
  readonly direction: LayerDirection;
  readonly family: LayerFamily;
  readonly subFamily: LayerSubFamily;
  readonly mode: "kernel" | "user";
  readonly introducedNtddi: string;
  readonly fieldsEnum: FieldsEnumName | null;
  readonly description: string;
}

/** FWPS_BUILTIN_LAYER_MAX: number of run-time layers. */
export const FWPS_BUILTIN_LAYER_MAX = ${Number(ref.layers.constants.FWPS_BUILTIN_LAYER_MAX)};
/** FWPS_BUILTIN_KM_LAYER_MAX: run-time ids below this are kernel-mode layers. */
export const FWPS_BUILTIN_KM_LAYER_MAX = ${Number(ref.layers.constants.FWPS_BUILTIN_KM_LAYER_MAX)};

/** All run-time layers; position = runtimeId (FWPS_LAYER_* value, FWPM_LAYER0.layerId). */
export const LAYER_ROWS: readonly LayerRow[] = [
`);
  for (const l of layers) {
    const row = {
      runtimeId: l.runtimeId,
      fwpsName: l.fwpsName,
      fwpmName: l.fwpmName,
      guid: l.guid,
      discardOf: l.discardOf,
      discardLayer: l.discardLayer,
      ipVersion: l.ipVersion,
      direction: l.direction,
      family: l.family,
      subFamily: l.subFamily,
      mode: l.mode,
      introducedNtddi: l.introducedNtddi,
      fieldsEnum: l.fieldsEnum,
      description: l.description,
    };
    out.push(`  ${JSON.stringify(row)},\n`);
  }
  out.push("];\n");
  out.push(
    "\n/** FWPS_LAYER_* name → run-time id. */\nexport const FWPS_LAYER: Readonly<Record<FwpsLayerName, number>> = {\n",
  );
  for (const l of layers) out.push(`  ${l.fwpsName}: ${l.runtimeId},\n`);
  out.push("};\n\n/** FWPM_LAYER_* name → layer key GUID. */\n");
  out.push("export const FWPM_LAYER: Readonly<Record<FwpmLayerName, Guid>> = {\n");
  for (const l of layers) if (l.fwpmName !== null) out.push(`  ${l.fwpmName}: ${q(l.guid)},\n`);
  out.push("} as Record<FwpmLayerName, Guid>;\n");
  return out.join("");
}

function genFields(ref: Reference): string {
  const enums = Object.entries(ref.fields.fieldEnums).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const allFields = enums.flatMap(([, e]) => e.fields);
  const out: string[] = [HEADER("fields.json"), `import type { ConditionName } from "./conditions.ts";\n\n`];
  out.push(
    union(
      "FieldsEnumName",
      "Every FWPS_FIELDS_* enum (the incoming-value layout shared by a layer and its discard layer).",
      enums.map(([n]) => n),
    ),
  );
  out.push(
    union(
      "FieldDataTypeName",
      "Run-time data types that fields.json gives to incoming values.",
      sortedUnique(allFields.flatMap((f) => (f.dataType === null ? [] : [f.dataType]))),
    ),
  );
  out.push(
    union(
      "FieldTypeName",
      "FWPM_FIELD_TYPE of a field.",
      sortedUnique(allFields.flatMap((f) => (f.fieldType === null ? [] : [f.fieldType]))),
    ),
  );
  out.push(
    union(
      "FieldConfidence",
      "How the field's data type is known (documented, derived, observed, assumed, unknown).",
      sortedUnique(allFields.map((f) => f.dataTypeConfidence)),
    ),
  );
  out.push(`
/** One field of an FWPS_FIELDS_* enum; \`index\` is its position in incomingValue[]. */
export interface FieldRow {
  readonly index: number;
  readonly name: string;
  readonly condition: ConditionName;
  readonly conditionGuid: string;
  readonly dataType: FieldDataTypeName | null;
  readonly fieldType: FieldTypeName | null;
  readonly confidence: FieldConfidence;
  readonly introducedNtddi: string | null;
}

/** An extra FWPS_FIELD_* name for an index (e.g. ICMP_TYPE = IP_LOCAL_PORT). */
export interface FieldAliasRow {
  readonly name: string;
  readonly aliasOf: string;
  readonly index: number;
}

export interface FieldsEnumRow {
  readonly name: FieldsEnumName;
  readonly ipVersion: "V4" | "V6" | null;
  readonly fields: readonly FieldRow[];
  readonly aliases: readonly FieldAliasRow[];
}

/** Every FWPS_FIELDS_* enum with its ordered fields. */
export const FIELDS_ENUM_ROWS: readonly FieldsEnumRow[] = [
`);
  for (const [name, e] of enums) {
    out.push(`  {\n    name: ${q(name)},\n    ipVersion: ${q(e.ipVersion)},\n    fields: [\n`);
    for (const f of e.fields) {
      const row = {
        index: f.index,
        name: f.name,
        condition: f.condition,
        conditionGuid: f.conditionGuid,
        dataType: f.dataType,
        fieldType: f.fieldType,
        confidence: f.dataTypeConfidence,
        introducedNtddi: f.introducedNtddi,
      };
      out.push(`      ${JSON.stringify(row)},\n`);
    }
    out.push(`    ],\n    aliases: [`);
    const aliases = e.aliases.map((a) => JSON.stringify({ name: a.name, aliasOf: a.aliasOf, index: a.index }));
    out.push(aliases.length === 0 ? "],\n  },\n" : `\n      ${aliases.join(",\n      ")},\n    ],\n  },\n`);
  }
  out.push("];\n");
  return out.join("");
}

function genConditions(ref: Reference): string {
  const conditions = ref.conditions.conditions;
  const out: string[] = [
    HEADER("conditions.json"),
    `import type { Guid } from "../../base/guid.ts";\nimport type { FwpmLayerName } from "./layers.ts";\n\n`,
  ];
  out.push(
    union(
      "ConditionName",
      "Every FWPM_CONDITION_* name (aliases, removed and docs-only names included).",
      conditions.map((c) => c.name),
    ),
  );
  out.push(
    union(
      "ConditionStatus",
      "current | alias | removed | newer-than-baseline | docs-only (see conditions.json).",
      sortedUnique(conditions.map((c) => c.status)),
    ),
  );
  out.push(`
/** One row of conditions.json. */
export interface ConditionRow {
  readonly name: ConditionName;
  readonly guid: string | null;
  readonly status: ConditionStatus;
  readonly aliasOf: ConditionName | null;
  readonly introducedNtddi: string | null;
  /** Documented FWP_DATA_TYPEs (or the enum a value comes from) for FWPM_FILTER_CONDITION0.conditionValue. */
  readonly conditionValueTypes: readonly string[];
  /** Run-time data types of the incoming value across layers. */
  readonly incomingDataTypes: readonly string[];
  readonly fieldTypes: readonly string[];
  /** FWPM layers whose field list carries this condition's GUID. */
  readonly validAtLayers: readonly FwpmLayerName[];
  /** Which enum or flag set the value is drawn from, in words. */
  readonly valueSemantics: string | null;
  /** Allowed in FWPM_NET_EVENT_ENUM_TEMPLATE0. */
  readonly netEventEnumTemplate: boolean;
}

export const CONDITION_ROWS: readonly ConditionRow[] = [
`);
  for (const c of conditions) {
    const row = {
      name: c.name,
      guid: c.guid,
      status: c.status,
      aliasOf: c.aliasOf ?? null,
      introducedNtddi: c.introducedNtddi ?? null,
      conditionValueTypes: c.conditionValueTypes ?? [],
      incomingDataTypes: c.incomingDataTypes ?? [],
      fieldTypes: c.fieldTypes ?? [],
      validAtLayers: c.validAtLayers ?? [],
      valueSemantics: c.valueSemantics ?? null,
      netEventEnumTemplate: c.netEventEnumTemplate === true,
    };
    out.push(`  ${JSON.stringify(row)},\n`);
  }
  out.push("];\n");
  const keyed = conditions.filter((c) => c.guid !== null);
  out.push("\n");
  out.push(
    union(
      "KeyedConditionName",
      "Condition names that have a GUID (all but docs-only ones).",
      keyed.map((c) => c.name),
    ),
  );
  out.push("\n/** FWPM_CONDITION_* name → condition key GUID (aliases share their target's GUID). */\n");
  out.push("export const FWPM_CONDITION: Readonly<Record<KeyedConditionName, Guid>> = {\n");
  for (const c of keyed) out.push(`  ${c.name}: ${q(c.guid)},\n`);
  out.push("} as Record<KeyedConditionName, Guid>;\n");
  return out.join("");
}

function enumValueLiteral(v: JsonEnumValue): string {
  return typeof v.value === "number" ? String(v.value) : `${v.value}n`;
}

function genEnums(ref: Reference): string {
  const groups = Object.entries(ref.enums.groups);
  const out: string[] = [HEADER("enums.json")];
  out.push(
    union(
      "EnumGroupName",
      "Every group of enums.json (enums, flag words and constant sets).",
      groups.map(([n]) => n),
    ),
  );
  out.push(`
/** One named value of a group. \`sentinel\`: a *_MAX marker; \`composite\`: a multi-bit mask; \`historical\`: older SDKs only. */
export interface EnumValueRow {
  readonly name: string;
  readonly value: number | bigint;
  readonly sentinel: boolean;
  readonly composite: boolean;
  readonly historical: boolean;
}

export interface EnumGroupRow {
  readonly name: EnumGroupName;
  /** enum = C enum; flags = bit values; values = plain constants. */
  readonly kind: "enum" | "flags" | "values";
  readonly cName: string | null;
  readonly description: string;
  readonly values: readonly EnumValueRow[];
}
`);
  for (const [name, g] of groups) {
    out.push(`\n/** ${g.description.replace(/\*\//g, "*\\/")} */\nexport const ${name} = {\n`);
    for (const v of g.values) out.push(`  ${v.name}: ${enumValueLiteral(v)},\n`);
    out.push("} as const;\n");
  }
  out.push("\n/** Every group with the attributes of each value, in the order of enums.json. */\n");
  out.push("export const ENUM_GROUP_ROWS: readonly EnumGroupRow[] = [\n");
  for (const [name, g] of groups) {
    out.push(
      `  {\n    name: ${q(name)},\n    kind: ${q(g.kind)},\n    cName: ${q(g.cName ?? null)},\n    description: ${q(g.description)},\n    values: [\n`,
    );
    for (const v of g.values) {
      out.push(
        `      { name: ${q(v.name)}, value: ${enumValueLiteral(v)}, sentinel: ${v.sentinel === true}, composite: ${v.composite === true}, historical: ${v.historical === true} },\n`,
      );
    }
    out.push("    ],\n  },\n");
  }
  out.push("];\n");
  return out.join("");
}

function namedGuidMap(exportName: string, typeName: string, doc: string, rows: readonly JsonNamedGuid[]): string {
  const names = rows.map((r) => r.name);
  const body = rows.map((r) => `  ${r.name}: ${q(r.guid)},`).join("\n");
  return `${union(typeName, doc, names)}
/** ${doc} name → GUID. */
export const ${exportName}: Readonly<Record<${typeName}, Guid>> = {
${body}
} as Record<${typeName}, Guid>;
`;
}

function genBuiltins(ref: Reference): string {
  const out: string[] = [HEADER("sublayers.json and providers.json")];
  out.push(`import type { Guid } from "../../base/guid.ts";
import type { FwpmLayerName } from "./layers.ts";

/** A built-in object: name, GUID and, for aliases, the name it stands for. */
export interface BuiltinRow<Name extends string> {
  readonly name: Name;
  readonly guid: string;
  readonly aliasOf: Name | null;
  readonly introducedNtddi: string | null;
  /** Only in the Microsoft docs (the SDK header spells another name/GUID). */
  readonly documentationOnly: boolean;
  readonly description: string | null;
}

export interface BuiltinCalloutRow extends BuiltinRow<BuiltinCalloutName> {
  /** The layer the callout applies to, or null when unpublished. */
  readonly layer: FwpmLayerName | null;
  /** Where the layer comes from: "name" (inferred from the callout name) or "docs…" (stated by the docs). */
  readonly layerSource: string | null;
}

`);
  const section = (
    rowsName: string,
    mapName: string,
    typeName: string,
    doc: string,
    rows: readonly JsonNamedGuid[],
  ): void => {
    out.push(namedGuidMap(mapName, typeName, doc, rows));
    out.push(`\nexport const ${rowsName}: readonly BuiltinRow<${typeName}>[] = [\n`);
    for (const r of rows) {
      const row = {
        name: r.name,
        guid: r.guid,
        aliasOf: r.aliasOf ?? null,
        introducedNtddi: r.introducedNtddi ?? null,
        documentationOnly: r.documentationOnly === true,
        description: r.description ?? null,
      };
      out.push(`  ${JSON.stringify(row)},\n`);
    }
    out.push("];\n\n");
  };
  section(
    "BUILTIN_SUBLAYER_ROWS",
    "FWPM_SUBLAYER",
    "BuiltinSublayerName",
    "Built-in sublayers (FWPM_SUBLAYER_*)",
    ref.sublayers.sublayers,
  );
  section(
    "BUILTIN_PROVIDER_ROWS",
    "FWPM_PROVIDER",
    "BuiltinProviderName",
    "Built-in providers (FWPM_PROVIDER_*)",
    ref.providers.providers,
  );
  section(
    "BUILTIN_PROVIDER_CONTEXT_ROWS",
    "FWPM_PROVIDER_CONTEXT",
    "BuiltinProviderContextName",
    "Built-in provider contexts (FWPM_PROVIDER_CONTEXT_*)",
    ref.providers.providerContexts,
  );
  section(
    "KEYING_MODULE_ROWS",
    "FWPM_KEYING_MODULE",
    "KeyingModuleName",
    "Built-in keying modules (FWPM_KEYING_MODULE_*)",
    ref.providers.keyingModules,
  );
  out.push(
    namedGuidMap("FWPM_CALLOUT", "BuiltinCalloutName", "Built-in callouts (FWPM_CALLOUT_*)", ref.providers.callouts),
  );
  out.push("\nexport const BUILTIN_CALLOUT_ROWS: readonly BuiltinCalloutRow[] = [\n");
  for (const c of ref.providers.callouts) {
    const row = {
      name: c.name,
      guid: c.guid,
      aliasOf: c.aliasOf ?? null,
      introducedNtddi: c.introducedNtddi ?? null,
      documentationOnly: c.documentationOnly === true,
      description: c.description ?? null,
      layer: c.layer,
      layerSource: c.layerSource,
    };
    out.push(`  ${JSON.stringify(row)},\n`);
  }
  out.push("];\n");
  return out.join("");
}

function genErrors(ref: Reference): string {
  const out: string[] = [HEADER("errors.json")];
  out.push(
    union(
      "FwpErrorName",
      "Every FWP_E_* HRESULT name.",
      ref.errors.errors.map((e) => e.name),
    ),
  );
  out.push(`
/** One FWP_E_* error: the HRESULT user-mode Fwpm* calls return and its STATUS_FWP_* NTSTATUS twin. */
export interface FwpErrorRow {
  readonly name: FwpErrorName;
  /** Unsigned 32-bit HRESULT, e.g. 0x80320009. */
  readonly hresult: number;
  readonly ntstatusName: string;
  /** Unsigned 32-bit NTSTATUS, e.g. 0xC0220009. */
  readonly ntstatus: number;
  /** Low 16 bits, shared by both forms. */
  readonly code: number;
  /** What the error means, in our own words. */
  readonly meaning: string;
}

/** A STATUS_FWP_* code kernel callers see that has no FWP_E_* HRESULT. */
export interface KernelStatusRow {
  readonly name: string;
  readonly ntstatus: number;
  readonly code: number;
  readonly meaning: string;
}

export const FWP_ERROR_ROWS: readonly FwpErrorRow[] = [
`);
  for (const e of ref.errors.errors) {
    out.push(
      `  { name: ${q(e.name)}, hresult: 0x${e.value.toString(16).toUpperCase()}, ntstatusName: ${q(e.ntstatusName)}, ntstatus: 0x${e.ntstatusHex.slice(2).toUpperCase()}, code: ${e.code}, meaning: ${q(e.meaning)} },\n`,
    );
  }
  out.push("];\n\nexport const KERNEL_ONLY_STATUS_ROWS: readonly KernelStatusRow[] = [\n");
  for (const s of ref.errors.ntstatusOnly) {
    out.push(
      `  { name: ${q(s.name)}, ntstatus: 0x${s.value.toString(16).toUpperCase()}, code: ${s.code}, meaning: ${q(s.meaning)} },\n`,
    );
  }
  out.push("];\n");
  return out.join("");
}

function genFlows(ref: Reference): string {
  const out: string[] = [HEADER("flows.json")];
  out.push(`import type { FwpmLayerName } from "./layers.ts";

/** One classification of a documented packet flow (wfp-semantics.md §F, flows.json). */
export interface FlowStep {
  readonly layer: FwpmLayerName;
  /** SYN, SYN-ACK, ACK, data, FIN, RST, first-datagram, datagram, echo-request, echo-reply, icmp-error, fragment, reassembled, fragment-group, none. */
  readonly packet: string;
  /** The packet's direction, or "none" for socket events and forwarding. */
  readonly direction: "inbound" | "outbound" | "none";
  /** FWP_CONDITION_FLAG_* names expected on this classification. */
  readonly flags: readonly string[];
  /** Loopback: which socket the indication belongs to. */
  readonly side: string | null;
  /** Fragment number (1-based). */
  readonly fragment: number | null;
  readonly note: string | null;
}

/** A documented (or, with \`inferred\`, modelled) sequence of classifications. */
export interface FlowScenario {
  readonly scenario: string;
  readonly role: "client" | "server" | "forwarder";
  readonly ipVersion: 4 | 6;
  readonly steps: readonly FlowStep[];
  /** Sources, ";"-separated. */
  readonly source: string;
  readonly inferred: boolean;
  readonly notes: string | null;
}

export const FLOW_SCENARIOS: readonly FlowScenario[] = [
`);
  for (const f of ref.flows) {
    const row = {
      scenario: f.scenario,
      role: f.role,
      ipVersion: f.ipVersion,
      steps: f.steps.map((s) => ({
        layer: s.layer,
        packet: s.packet,
        direction: s.direction,
        flags: s.flags ?? [],
        side: s.side ?? null,
        fragment: s.fragment ?? null,
        note: s.note ?? null,
      })),
      source: f.source,
      inferred: f.inferred === true,
      notes: f.notes ?? null,
    };
    out.push(`  ${JSON.stringify(row)},\n`);
  }
  out.push("];\n");
  return out.join("");
}

/** The generated files (name inside src/fwp/generated → text) for the tables in `dir`. */
export function generateFwp(dir: string = referenceDir()): Map<string, string> {
  const ref = readReference(dir);
  checkReference(ref);
  return new Map([
    ["layers.ts", genLayers(ref)],
    ["fields.ts", genFields(ref)],
    ["conditions.ts", genConditions(ref)],
    ["enums.ts", genEnums(ref)],
    ["builtins.ts", genBuiltins(ref)],
    ["errors.ts", genErrors(ref)],
    ["flows.ts", genFlows(ref)],
  ]);
}

/** The repository root (this file lives in tools/). */
export function repositoryRoot(): string {
  return fileURLToPath(new URL("../", import.meta.url));
}

function main(): void {
  const dir = referenceDir();
  const outDir = join(repositoryRoot(), GENERATED_DIR);
  mkdirSync(outDir, { recursive: true });
  for (const [name, text] of generateFwp(dir)) {
    writeFileSync(join(outDir, name), text);
    console.log(`gen-fwp: wrote ${GENERATED_DIR}/${name} (${text.length} chars)`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    main();
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  }
}
