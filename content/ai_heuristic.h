// The built-in heuristic "AI likelihood" score: the internal detector used when
// INTERNAL_DETECTOR_URL is unset. It is a deterministic heuristic over surface features,
// NOT a trained classifier, and must not be presented as one.
#pragma once

#include <string_view>

namespace content {

// Feature values in 0..1, each oriented so that 1 means "reads like typical AI text".
struct AiHeuristicFeatures {
  double sentence_uniformity;  // Low burstiness: sentence lengths vary little.
  double lexical_repetition;   // Low moving-average type-token ratio (50-word windows).
  double stock_phrase_rate;    // Frequency of stock AI phrases ("delve", "furthermore"...).
  double contraction_absence;  // Few contractions ("don't", "it's") per 100 words.
};

// Computes the features above. Text with fewer than 3 sentences gets a neutral 0.5
// for sentence_uniformity; empty text gets all zeros.
AiHeuristicFeatures compute_ai_heuristic_features(std::string_view text);

// Weighted sum of the features (0.35 uniformity, 0.15 repetition, 0.35 stock phrases,
// 0.15 contraction absence) scaled to 0..100 and rounded to one decimal. Deterministic;
// empty text scores 0.
double heuristic_ai_score(std::string_view text);

}  // namespace content
