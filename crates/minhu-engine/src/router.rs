//! Routing: from a demand's words and place to the unit that must act.
//!
//! Three questions, each answered with its reason so a dispatcher can check it:
//! where (the region, from the ticket or its address text), what (the category, from
//! the ticket or a [`Classifier`]), and who (the unit, from the city's duty list).
//! Anything not answered with confidence leaves the ticket in the dispatcher queue.

use crate::neighbours::{Similar, combine_posts, merge_levels, read_levels, vote_post};
use minhu_core::City;
use minhu_core::deadline::TierCode;
use minhu_core::duty::Assignment;
use minhu_core::ids::{RegionId, UnitId};
use minhu_core::reading::{LevelReading, deepest, is_place_word};
use minhu_core::taxonomy::CategoryPath;
use minhu_core::ticket::{GeoPoint, PlaceReading, Ticket};
use minhu_core::unit::UnitLevel;
use minhu_core::workflow::Command;
use serde::Serialize;
use std::ops::Range;
use std::sync::Arc;

/// A category guess with how sure it is and the words that made it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CategorySuggestion {
    /// The deepest level read: the classifier's first level, or a second or third level
    /// below it (`levels`).
    pub category: CategoryPath,
    /// How sure the first level is, 0.0 to 1.0.
    pub confidence: f32,
    /// The words behind the first level (never a place's name).
    pub reasons: Vec<String>,
    /// Each level read below the first, with its own confidence and words; a level is
    /// here only at or above the confidence the city set for it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub levels: Vec<LevelReading>,
}

impl CategorySuggestion {
    /// A first-level guess, nothing read below it yet.
    pub fn first(category: CategoryPath, confidence: f32, reasons: Vec<String>) -> Self {
        Self {
            category,
            confidence,
            reasons,
            levels: Vec::new(),
        }
    }

    /// This guess read further down the taxonomy by the city's reader, its reasons
    /// without place words (`places`: the byte ranges of the text's place words).
    pub fn read_down(mut self, text: &str, places: &[Range<usize>], city: &City) -> Self {
        self.reasons
            .retain(|word| !place_word(city, word, text, places));
        self.levels = city.categories.deepen(text, places, &self.category);
        self.category = deepest(&self.levels, &self.category);
        self
    }

    /// Every word behind the guess, the first level's then each deeper level's, once.
    pub fn words(&self) -> Vec<String> {
        let mut words = self.reasons.clone();
        for word in self.levels.iter().flat_map(|l| &l.words) {
            if !words.contains(word) {
                words.push(word.clone());
            }
        }
        words
    }
}

/// The post (level, and role for departments) of the units that handled demands like
/// this one, read from its words: with the demand's place it names a unit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PostSuggestion {
    pub level: UnitLevel,
    pub role: Option<String>,
    /// 0.0 to 1.0.
    pub confidence: f32,
    /// The words behind it (never a place's name).
    pub reasons: Vec<String>,
    /// The handled tickets like this one that voted for it, when they read it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub neighbours: Vec<String>,
}

/// A unit read from the words where the category is not sure: the post learned from
/// handled tickets, at the ticket's place.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LearnedUnit {
    pub unit: UnitId,
    pub post: PostSuggestion,
    /// At or above the city's confidence for units: routing dispatches to it. Below, it
    /// is only shown to the dispatcher.
    pub taken: bool,
}

/// Whether a reason read from `text` is a place word: it holds a name the city knows,
/// or it stands in the text only inside place words (`places`).
fn place_word(city: &City, word: &str, text: &str, places: &[Range<usize>]) -> bool {
    is_place_word(word, text, places, !city.read_place(word).spans.is_empty())
}

/// Suggests categories from a demand's text (the text-intelligence crate plugs in here).
pub trait Classifier: Send + Sync {
    /// Best first.
    fn suggest(&self, title: &str, description: &str) -> Vec<CategorySuggestion>;

    /// The post of the unit that handles demands like this one, when the classifier
    /// learned units from handled tickets (none by default).
    fn suggest_post(&self, _title: &str, _description: &str) -> Option<PostSuggestion> {
        None
    }

    /// The handled tickets most like this demand, most similar first, when the
    /// classifier kept them (none by default). Slower than the rest: routing asks only
    /// where the rest leaves a level or the unit undecided.
    fn similar(&self, _title: &str, _description: &str) -> Vec<Similar> {
        Vec::new()
    }
}

/// Below the city's confidence for a level (`categories.toml`) a classifier's category
/// is only a suggestion for a dispatcher.
#[derive(Clone, Default)]
pub struct Router {
    classifier: Option<Arc<dyn Classifier>>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Decision {
    /// A region found from the address text (absent when the ticket had one already).
    pub region: Option<Placed>,
    /// Another city the demand is about, as `places.csv` names it ("B市"): it is not
    /// placed nor routed here, a dispatcher hands it over (转办).
    pub elsewhere: Option<String>,
    /// A category taken from the classifier (absent when the ticket had one already).
    pub category: Option<CategorySuggestion>,
    pub suggestions: Vec<CategorySuggestion>,
    /// A more urgent tier than the ticket's, because the text says so.
    pub tier: Option<Urgency>,
    pub assignment: Option<Assignment>,
    /// Where no duty rule names a unit (the category is not sure): the unit read from
    /// the words, learned from handled tickets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learned: Option<LearnedUnit>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Urgency {
    pub tier: TierCode,
    /// The configured words (and category) found, with their weights.
    pub reasons: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Placed {
    pub region: RegionId,
    pub reason: String,
    /// Placed by the map pin (inside the region's outline), else by a name in the text.
    pub by_pin: bool,
    /// The estate, road, school ... of `places.csv` whose name placed it, if one did.
    pub place: Option<String>,
    /// That place's coordinates, when `places.csv` has them.
    pub location: Option<GeoPoint>,
}

/// A unit a dispatcher could send the ticket to: what routing would do under one of the
/// model's categories, with why.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Candidate {
    /// The unit and the duty rule that names it.
    pub assignment: Assignment,
    pub category: CategoryPath,
    /// How sure the category is, 0.0 to 1.0 (1 when a person gave it).
    pub confidence: f32,
    /// The words that made the category, when the model chose it.
    pub words: Vec<String>,
}

impl Decision {
    /// The units the ticket could go to, best first, at most `limit`, each once: the
    /// routing's own choice (the category taken), then the units of the model's next
    /// categories. `except` (the unit that returned the ticket) is never among them.
    pub fn candidates(
        &self,
        ticket: &Ticket,
        city: &City,
        except: Option<&UnitId>,
        limit: usize,
    ) -> Vec<Candidate> {
        let place = self
            .region
            .as_ref()
            .map(|p| &p.region)
            .or(ticket.intake.region.as_ref());
        let taken = self
            .category
            .iter()
            .map(|c| (&c.category, c.confidence, c.reasons.as_slice()));
        let given = ticket.intake.category.iter().map(|c| (c, 1.0, &[][..]));
        let guessed = self
            .suggestions
            .iter()
            .map(|s| (&s.category, s.confidence, s.reasons.as_slice()));
        // Each category's first unit (routing's own answer under it), then the duty
        // list's other units for it (another level: where a returned ticket may go).
        let categories: Vec<(&CategoryPath, f32, &[String])> =
            taken.chain(given).chain(guessed).collect();
        let firsts = categories.iter().flat_map(|(category, confidence, words)| {
            let assignment = city
                .duties
                .route(category, place, &city.regions, &city.units);
            assignment.map(|a| (a, *category, *confidence, *words))
        });
        let others = categories.iter().flat_map(|(category, confidence, words)| {
            city.duties
                .routes(category, place, &city.regions, &city.units)
                .skip(1)
                .map(move |a| (a, *category, *confidence, *words))
        });
        let mut found: Vec<Candidate> = Vec::new();
        for (assignment, category, confidence, words) in firsts.chain(others) {
            if found.len() == limit {
                break;
            }
            if Some(&assignment.unit) == except
                || found.iter().any(|c| c.assignment.unit == assignment.unit)
            {
                continue;
            }
            found.push(Candidate {
                assignment,
                category: category.clone(),
                confidence,
                words: words.to_vec(),
            });
        }
        found
    }

    /// The commands that carry the decision out, in order.
    /// What the words said of the demand's place, to keep on the ticket (a
    /// [`Change::PlaceRead`](minhu_core::event::Change::PlaceRead) at intake): none
    /// when they said nothing, or when a map pin placed it (the pin is on the ticket).
    pub fn place_reading(&self) -> Option<PlaceReading> {
        let read = self.region.as_ref().filter(|placed| !placed.by_pin);
        if read.is_none() && self.elsewhere.is_none() {
            return None;
        }
        Some(PlaceReading {
            region: read.map(|placed| placed.region.clone()),
            place: read.and_then(|placed| placed.place.clone()),
            location: read.and_then(|placed| placed.location),
            elsewhere: self.elsewhere.clone(),
        })
    }

    pub fn commands(&self) -> Vec<Command> {
        let mut commands = Vec::new();
        if self.region.is_some() || self.category.is_some() || self.tier.is_some() {
            commands.push(Command::Reclassify {
                category: self.category.as_ref().map(|c| c.category.clone()),
                region: self.region.as_ref().map(|p| p.region.clone()),
                tier: self.tier.as_ref().map(|u| u.tier.clone()),
                // The tier's reason is kept when the tier is set, at intake.
                reason: self.tier.as_ref().map(|u| u.reasons.join("、")),
            });
        }
        if let Some(assignment) = &self.assignment {
            commands.push(Command::Dispatch {
                unit: assignment.unit.clone(),
                reason: Some(self.explain(&assignment.reason)),
            });
        } else if let Some(learned) = self.learned.as_ref().filter(|l| l.taken) {
            let post = &learned.post;
            let because = format!(
                "unit learned from handled tickets: the post {}{} at confidence {:.2} ({})",
                post.level.code(),
                post.role
                    .as_deref()
                    .map(|role| format!(" ({role})"))
                    .unwrap_or_default(),
                post.confidence,
                post.reasons.join(", ")
            ) + &like(&post.neighbours);
            commands.push(Command::Dispatch {
                unit: learned.unit.clone(),
                reason: Some(self.explain(&because)),
            });
        }
        commands
    }

    /// The units a dispatcher should look at first, each with why: the duty list's
    /// unit for the category taken, then its unit for each other category the
    /// classifier suggests (below the threshold), each unit once.
    pub fn candidate_units(&self, ticket: &Ticket, city: &City) -> Vec<Assignment> {
        self.candidates(ticket, city, None, usize::MAX)
            .into_iter()
            .map(|c| c.assignment)
            .collect()
    }

    fn explain(&self, why: &str) -> String {
        let mut reason = format!("automatic routing: {why}");
        if let Some(placed) = &self.region {
            reason.push_str(&format!("; {}", placed.reason));
        }
        if let Some(urgency) = &self.tier {
            reason.push_str(&format!(
                "; tier {} because the text says {}",
                urgency.tier.as_str(),
                urgency.reasons.join(", ")
            ));
        }
        if let Some(category) = &self.category {
            reason.push_str(&format!(
                "; category {} at confidence {:.2} ({})",
                category.category.first_level(),
                category.confidence,
                category.reasons.join(", ")
            ));
            for level in &category.levels {
                reason.push_str(&format!(
                    ", {} at {:.2} ({}){}",
                    level.category,
                    level.confidence,
                    level.words.join(", "),
                    like(&level.neighbours)
                ));
            }
        }
        reason
    }
}

/// The handled tickets behind a reading, as a reason adds them: " like #12 …; #40 …".
fn like(neighbours: &[String]) -> String {
    match neighbours {
        [] => String::new(),
        tickets => format!(" like {}", tickets.join("; ")),
    }
}

impl Router {
    pub fn with_classifier(classifier: Arc<dyn Classifier>) -> Self {
        Self {
            classifier: Some(classifier),
        }
    }

    pub fn decide(&self, ticket: &Ticket, city: &City) -> Decision {
        let intake = &ticket.intake;
        let mut elsewhere = None;
        let kept_elsewhere = ticket
            .place_reading
            .as_ref()
            .and_then(|kept| kept.elsewhere.as_ref());
        let region = match (&intake.region, kept_elsewhere) {
            (Some(_), _) => None,
            // Read as another city's at intake and kept: pages show what routing read
            // then, not a new reading.
            (None, Some(city)) => {
                elsewhere = Some(city.clone());
                None
            }
            // A map pin is more precise than a name in the text.
            (None, None) => intake
                .location
                .and_then(|at| {
                    let found = city.boundaries.locate(at, &city.regions)?;
                    Some(Placed {
                        region: found.id.clone(),
                        reason: format!(
                            "coordinates {:.5},{:.5} inside the boundary of {}",
                            at.lat, at.lon, found.name
                        ),
                        by_pin: true,
                        place: None,
                        location: None,
                    })
                })
                .or_else(|| {
                    let text = format!(
                        "{} {} {}",
                        intake.address.as_deref().unwrap_or_default(),
                        intake.title,
                        intake.description
                    );
                    let reading = city.read_place(&text);
                    elsewhere = reading.elsewhere.map(|city| city.name.clone());
                    let found = reading.region?;
                    Some(Placed {
                        region: found.id.clone(),
                        reason: match reading.place {
                            Some(place) if reading.is_city_wide() => format!(
                                "city-wide: {} {} (of {} as a whole) named in the address or text, and no place below the city",
                                place.kind.code(),
                                place.name,
                                found.name
                            ),
                            Some(place) => format!(
                                "{} {} (in {}) named in the address or text",
                                place.kind.code(),
                                place.name,
                                found.name
                            ),
                            None if reading.is_city_wide() => format!(
                                "city-wide: {} named in the address or text, and no place below it that the gazetteer knows",
                                found.name
                            ),
                            None => format!("place {} named in the address or text", found.name),
                        },
                        by_pin: false,
                        place: reading.place.map(|p| p.name.clone()),
                        location: reading.location(),
                    })
                }),
        };
        let text = format!("{} {}", intake.title, intake.description);
        // The place words of the text, which no reading of meaning counts.
        let places = match &self.classifier {
            Some(_) => city.read_place(&text).spans,
            None => Vec::new(),
        };
        let mut suggestions: Vec<CategorySuggestion> = match (&intake.category, &self.classifier) {
            (None, Some(classifier)) => classifier
                .suggest(&intake.title, &intake.description)
                .into_iter()
                .map(|s| s.read_down(&text, &places, city))
                .collect(),
            _ => Vec::new(),
        };
        let place = region
            .as_ref()
            .map(|p| &p.region)
            .or(intake.region.as_ref());
        let taken = |suggestions: &[CategorySuggestion]| {
            suggestions
                .first()
                .filter(|best| {
                    best.confidence >= city.categories.confidence().first
                        && city.taxonomy.contains(&best.category)
                })
                .cloned()
        };
        // A demand about another city is handed over by a person, never routed here.
        let route = |category: &Option<CategorySuggestion>| {
            category
                .as_ref()
                .map(|c| &c.category)
                .or(intake.category.as_ref())
                .filter(|_| elsewhere.is_none())
                .and_then(|c| city.duties.route(c, place, &city.regions, &city.units))
        };
        let mut category = taken(&suggestions);
        let mut assignment = route(&category);
        // The handled tickets like this one: a search too slow for every demand at
        // intake (BENCHMARKS, "Neighbours"), asked for once, and only for a demand that
        // would otherwise wait in the queue.
        let mut similar: Option<Vec<Similar>> = None;
        let mut similar_tickets = |classifier: &Arc<dyn Classifier>| -> Vec<Similar> {
            similar
                .get_or_insert_with(|| classifier.similar(&intake.title, &intake.description))
                .clone()
        };
        // A sure first level whose words stop short of the third and that no duty rule
        // routes: the tickets like it may read the levels the words leave open, or
        // overrule a weaker reading.
        if let (None, Some(best), Some(classifier)) =
            (&assignment, suggestions.first_mut(), &self.classifier)
            && best.confidence >= city.categories.confidence().first
            && best.levels.len() < 2
        {
            let first = CategoryPath::new(best.category.first_level());
            let mut near = read_levels(
                &similar_tickets(classifier),
                &first,
                city.categories.confidence(),
                &city.taxonomy,
            );
            for level in &mut near {
                level
                    .words
                    .retain(|word| !place_word(city, word, &text, &places));
            }
            best.levels = merge_levels(std::mem::take(&mut best.levels), near);
            best.category = deepest(&best.levels, &first);
            category = taken(&suggestions);
            assignment = route(&category);
        }
        // The category's confidence: 1 when a person gave it, else the classifier's.
        let read = match (&intake.category, suggestions.first()) {
            (Some(given), _) => Some((given, 1.0)),
            (None, Some(best)) => Some((&best.category, best.confidence)),
            (None, None) => None,
        };
        let tier = city
            .urgency(&text, &intake.tier, read)
            .map(|urgent| Urgency {
                tier: urgent.tier.code.clone(),
                reasons: urgent.reasons,
            });
        let learned = match (&assignment, &self.classifier, place) {
            (None, Some(classifier), Some(place)) => combine_posts(
                classifier.suggest_post(&intake.title, &intake.description),
                vote_post(&similar_tickets(classifier)),
            )
            .and_then(|mut post| {
                post.reasons
                    .retain(|word| !place_word(city, word, &text, &places));
                let unit =
                    city.units
                        .serving(post.level, post.role.as_deref(), place, &city.regions)?;
                Some(LearnedUnit {
                    unit: unit.id.clone(),
                    taken: post.confidence >= city.categories.confidence().unit,
                    post,
                })
            }),
            _ => None,
        };
        Decision {
            region,
            elsewhere,
            category,
            suggestions,
            tier,
            assignment,
            learned,
        }
    }
}
