/**
 * The XML layer under the netsh reader and writer: text ⇄ a forest of plain elements.
 * netsh writes UTF-8 with a byte-order mark, an XML declaration, tab indentation, LF or CRLF line ends,
 * self-closing empty elements, and no mixed content. A `show state` file holds a second top-level element
 * (`<firewallState>`) after `</wfpstate>`, so the file is not one well-formed document: we parse it
 * deliberately as a forest — the text after the declaration is checked and parsed as the content of a
 * synthetic element (line and column numbers of errors still refer to the original text), and every
 * top-level element is returned in order. Parsing uses fast-xml-parser (validator + order-preserving
 * parser); writing is hand-written so the output has exactly netsh's layout.
 */
import type * as FastXmlParser from "fast-xml-parser";
import type { XMLParser } from "fast-xml-parser";
import { lazyPackage } from "../../base/lazy-package.ts";
import { NetshError } from "./error.ts";

/** One element: attributes, and either child elements or text (netsh never mixes them). */
export interface XmlElement {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  /** Text content ("" for an empty element or one with children), entities decoded. */
  readonly text: string;
}

/** How a file was laid out, so it can be written back the same way. */
export interface XmlLayout {
  /** Starts with the UTF-8 byte-order mark. */
  readonly bom: boolean;
  /** The XML declaration as written, or null when absent. */
  readonly declaration: string | null;
  readonly eol: "\r\n" | "\n";
  /** A line end after the last element. */
  readonly finalNewline: boolean;
}

export interface XmlForest {
  readonly layout: XmlLayout;
  readonly elements: readonly XmlElement[];
}

const WRAPPER = "netsh-forest";
const DECLARATION = /^<\?xml\s[^?]*\?>/;

type OrderedNode = { readonly [key: string]: unknown };

const fastXmlParser = lazyPackage<typeof FastXmlParser>("fast-xml-parser");

let parser: XMLParser | undefined;

/** The parser, made on first use (with its package). */
function xmlParser(): XMLParser {
  parser ??= new (fastXmlParser().XMLParser)({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: "",
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: false,
    processEntities: true,
    htmlEntities: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
  });
  return parser;
}

/** Parses netsh XML text into its top-level elements; malformed text → NetshError NETSH_MALFORMED_XML. */
export function parseXmlForest(input: string): XmlForest {
  const bom = input.charCodeAt(0) === 0xfeff;
  let text = bom ? input.slice(1) : input;
  const decl = DECLARATION.exec(text);
  const declaration = decl === null ? null : decl[0];
  if (decl !== null) text = " ".repeat(decl[0].length) + text.slice(decl[0].length);
  const eol: "\r\n" | "\n" = text.includes("\r\n") ? "\r\n" : "\n";
  const finalNewline = /\r?\n$/.test(text);
  // The wrapper's start tag goes on line 1 and shifts only that line's columns.
  const opening = `<${WRAPPER}>`;
  const wrapped = `${opening}${text}</${WRAPPER}>`;
  const verdict = fastXmlParser().XMLValidator.validate(wrapped, { allowBooleanAttributes: false });
  if (verdict !== true) {
    const { line, col, msg } = verdict.err;
    const column = line === 1 ? Math.max(1, col - opening.length) : col;
    throw new NetshError(
      "NETSH_MALFORMED_XML",
      `${msg.replaceAll(WRAPPER, "(document)")}`,
      `line ${line}, column ${column}`,
    );
  }
  const tree = xmlParser().parse(wrapped) as OrderedNode[];
  const root = tree.find((n) => Object.hasOwn(n, WRAPPER));
  if (root === undefined) throw new NetshError("NETSH_MALFORMED_XML", "No element found.", "(document)");
  const elements = convertChildren(root[WRAPPER] as OrderedNode[], []);
  if (elements.length === 0) throw new NetshError("NETSH_MALFORMED_XML", "No element found.", "(document)");
  return { layout: { bom, declaration, eol, finalNewline }, elements };
}

/** Names and item indices from the root to the element being converted (for error paths only). */
type Trail = [name: string, index: number][];

function trailPath(trail: Trail): string {
  let path = "";
  for (const [name, index] of trail) path = path === "" ? name : childPath(path, name, index);
  return path;
}

function convertChildren(nodes: readonly OrderedNode[], trail: Trail): XmlElement[] {
  const out: XmlElement[] = [];
  let itemIndex = 0;
  let text = "";
  for (const node of nodes) {
    if (Object.hasOwn(node, "#text")) {
      text += String(node["#text"]);
      continue;
    }
    let name: string | undefined;
    for (const k in node) {
      if (k !== ":@") {
        name = k;
        break;
      }
    }
    if (name === undefined || name.startsWith("?") || name === "#comment") continue;
    trail.push([name, name === "item" ? itemIndex++ : 0]);
    const attrs = node[":@"] as Record<string, unknown> | undefined;
    const attributes: Record<string, string> = {};
    if (attrs !== undefined) for (const k in attrs) attributes[k] = String(attrs[k]);
    const inner = node[name] as OrderedNode[];
    let own = "";
    let hasElement = false;
    for (const n of inner) {
      if (Object.hasOwn(n, "#text")) own += String(n["#text"]);
      else hasElement = true;
    }
    const children = hasElement ? convertChildren(inner, trail) : [];
    if (children.length > 0 && own.trim() !== "") {
      throw new NetshError("NETSH_MALFORMED_XML", "Text mixed with child elements.", trailPath(trail));
    }
    trail.pop();
    out.push({ name, attributes, children, text: children.length > 0 ? "" : own });
  }
  if (trail.length === 0 && text.trim() !== "") {
    throw new NetshError("NETSH_MALFORMED_XML", "Text outside any element.", "(document)");
  }
  return out;
}

/** Path of a child for error messages: `parent/name`, or `parent/item[i]` for list items (i from 0). */
export function childPath(parent: string, name: string, index: number): string {
  return name === "item" ? `${parent}/item[${index}]` : `${parent}/${name}`;
}

function escapeText(s: string): string {
  return s.replace(/[&<>]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : "&gt;"));
}

function escapeAttribute(s: string): string {
  return s.replace(/[&<>"]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : "&quot;"));
}

/** Writes a forest in netsh's layout: declaration, one element per line, tab indentation, `<x/>` when empty. */
export function writeXmlForest(forest: XmlForest): string {
  const { layout } = forest;
  const parts: string[] = [];
  if (layout.bom) parts.push("\ufeff");
  if (layout.declaration !== null) parts.push(layout.declaration, layout.eol);
  const lines: string[] = [];
  for (const e of forest.elements) writeElement(e, 0, lines);
  parts.push(lines.join(layout.eol));
  if (layout.finalNewline) parts.push(layout.eol);
  return parts.join("");
}

function writeElement(e: XmlElement, depth: number, lines: string[]): void {
  const indent = "\t".repeat(depth);
  let attrs = "";
  for (const [k, v] of Object.entries(e.attributes)) attrs += ` ${k}="${escapeAttribute(v)}"`;
  if (e.children.length === 0) {
    lines.push(
      e.text === "" ? `${indent}<${e.name}${attrs}/>` : `${indent}<${e.name}${attrs}>${escapeText(e.text)}</${e.name}>`,
    );
    return;
  }
  lines.push(`${indent}<${e.name}${attrs}>`);
  for (const c of e.children) writeElement(c, depth + 1, lines);
  lines.push(`${indent}</${e.name}>`);
}
