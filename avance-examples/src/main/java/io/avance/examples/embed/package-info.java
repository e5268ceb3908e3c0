/**
 * How an appliance vendor embeds an Avance node in its own product: {@link
 * io.avance.examples.embed.EmbeddingExample}.
 */
package io.avance.examples.embed;
