/**
 * Policy documents (docs/policy.md): readable JSON or YAML describing providers, sublayers, callouts
 * (with declarative behaviours) and filters, parsed with document paths in every error and loaded
 * into a FilterEngine; plus the text forms of incoming values and metadata used by `openwfp eval`.
 */
export {
  BEHAVIOUR_WORDS,
  type BehaviourWord,
  behaviourClassifyFn,
  type CalloutBehaviour,
  parseBehaviour,
} from "./behaviour.ts";
export {
  type ParsedPolicy,
  type ParsePolicyOptions,
  POLICY_VERSION,
  type PolicyCallout,
  type PolicyCondition,
  type PolicyFilter,
  type PolicyProvider,
  type PolicySublayer,
  parseLayerRef,
  parsePolicyDocument,
} from "./document.ts";
export {
  conditionAliases,
  describeLayerFields,
  findConditionByFieldName,
  type ResolvedField,
  resolveField,
  shortAlias,
} from "./fields.ts";
export { type FormatPolicyOptions, formatPolicyDocument, type PolicyDocumentData } from "./format.ts";
export { incomingValuesFromText, metadataFromText, parseIncomingValue, splitAssignment } from "./incoming.ts";
export { DEFAULT_KEY_NAMESPACE, hashKeyMinter, type KeyMinter, type PolicyObjectKind } from "./keys.ts";
export { type LoadedPolicy, type LoadPolicyOptions, loadPolicyDocument } from "./load.ts";
export { type MatchName, matchTypeByWord, matchWord } from "./names.ts";
export { type PolicyFormat, PolicySyntaxError, parsePolicyText } from "./syntax.ts";
export { formatFilterWeight, parseFilterWeight } from "./weight.ts";
