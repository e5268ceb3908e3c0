/**
 * A small JSON writer and a reader for flat objects, for the monitor's API, the audit journal's
 * filters, call-home events and the diagnostic bundle. Deliberately tiny: the engine exchanges
 * only documents it writes itself, so a general JSON library would be weight without use.
 */
package io.avance.core.json;
