//! Sentences the pages say about what happened and why, in the reader's language: what
//! an event records, why routing suggests what it does, which duty rule sent a ticket
//! where. Each is a method of [`Words`], so a template writes `{{ ui.event(e) }}` or
//! `{{ ui.duty_basis(basis, unit) }}` and a handler calls the same.

use crate::pages::ui::Words;
use minhu_core::deadline::Allowance;
use minhu_core::duty::DutyBasis;
use minhu_core::event::{Change, Event, Who};
use minhu_core::ids::{RegionId, UnitId};
use minhu_core::label::yes_no;
use minhu_engine::router::Decision;

impl Words {
    /// How long a tier allows: "30 分钟", "2 小时", "7 个工作日" / "30 minutes", ...
    pub fn allowance(&self, allowance: &Allowance) -> String {
        let en = self.lang.is_en();
        let plural = |n: i64, one: &str| {
            if n == 1 {
                format!("1 {one}")
            } else {
                format!("{n} {one}s")
            }
        };
        match *allowance {
            Allowance::WorkingDays(days) if en => plural(days.into(), "working day"),
            Allowance::WorkingDays(days) => format!("{days} 个工作日"),
            Allowance::Wall(span) => {
                let minutes = span.as_secs() / 60;
                let (n, zh, one) = if minutes % (24 * 60) == 0 {
                    (minutes / (24 * 60), "天", "day")
                } else if minutes % 60 == 0 {
                    (minutes / 60, "小时", "hour")
                } else {
                    (minutes, "分钟", "minute")
                };
                if en {
                    plural(n, one)
                } else {
                    format!("{n} {zh}")
                }
            }
        }
    }

    /// An audit entry's detail as its writer put it, with the codes it is known to
    /// carry in words: a new ticket's `channel phone` reads "渠道：电话" / "Channel: Phone".
    pub fn audit_detail(&self, detail: &str) -> String {
        match detail
            .strip_prefix("channel ")
            .and_then(minhu_core::ticket::Channel::from_code)
        {
            Some(channel) => format!("{}{}", self.t("渠道：", "Channel: "), self.label(channel)),
            None => detail.to_owned(),
        }
    }

    /// What an account sees: a region, a unit (and those under it), or the whole city.
    pub fn scope(
        &self,
        unit: Option<&UnitId>,
        region: Option<&minhu_core::ids::RegionId>,
    ) -> String {
        match (unit, region) {
            (_, Some(region)) => self.region(region),
            (Some(unit), None) => format!(
                "{}{}",
                self.unit(unit),
                self.t("及下级", " and its sub-units")
            ),
            (None, None) if self.serves_province() => {
                self.t("全省", "The whole province").to_owned()
            }
            (None, None) => self.t("全市", "The whole city").to_owned(),
        }
    }

    /// Why a unit got a ticket: "按派单目录第 77 条：教育文体类、泉塘街道，派 A7县教育局".
    pub fn duty_basis(&self, basis: &DutyBasis, unit: &UnitId) -> String {
        let category = self.category(&basis.category);
        let place = match &basis.place {
            Some(place) => self.place(place),
            None => self.t("全市", "citywide").to_owned(),
        };
        let unit = self.unit(unit);
        if self.lang.is_en() {
            format!(
                "Duty list rule {}: {category}, {place}, to {unit}",
                basis.rule
            )
        } else {
            format!(
                "按派单目录第 {} 条：{category}、{place}，派 {unit}",
                basis.rule
            )
        }
    }

    /// What a demand's words named of its place (`source`: where the words were, in
    /// zh and en): a place and its region, a region, or the city and nothing below it
    /// (placed at the city: a city-wide matter for its departments).
    fn named_place(&self, region: &RegionId, place: Option<&str>, source: (&str, &str)) -> String {
        let (zh, en) = source;
        if self.is_city(region) {
            let city = self.place(region);
            return match place {
                Some(place) if self.lang.is_en() => {
                    format!("City-wide: {en} names {place}, of {city} as a whole")
                }
                Some(place) => format!("全市：{zh}提到{place}（属{city}全市）"),
                None if self.lang.is_en() => format!(
                    "City-wide: {en} names {city} and no place below it that the city's gazetteer knows"
                ),
                None => format!("全市：{zh}提到{city}，未提到本市地名库中区县以下的地点"),
            };
        }
        let region = self.region(region);
        match place {
            Some(place) if self.lang.is_en() => format!("{en} names {place}, in {region}"),
            Some(place) => format!("{zh}提到{place}（属{region}）"),
            None if self.lang.is_en() => format!("{en} names {region}"),
            None => format!("{zh}提到{region}"),
        }
    }

    /// Why routing suggests what it does, one sentence per reason: where, what, how
    /// urgent, who.
    pub fn routing_reasons(&self, decision: &Decision) -> Vec<String> {
        let mut reasons = Vec::new();
        if let Some(placed) = &decision.region {
            let region = self.region(&placed.region);
            reasons.push(match placed.by_pin {
                true if self.lang.is_en() => format!("The map pin lies in {region}"),
                true => format!("地图定位在{region}范围内"),
                false => self.named_place(
                    &placed.region,
                    placed.place.as_deref(),
                    ("地址或内容", "The address or text"),
                ),
            });
        }
        if let Some(city) = &decision.elsewhere {
            reasons.push(if self.lang.is_en() {
                format!("About another city: {city} (to hand over, not routed here)")
            } else {
                format!("属外市：{city}（需转办，不在本市派单）")
            });
        }
        if let Some(category) = decision.category.as_ref().or(decision.suggestions.first()) {
            let name = self.category(&category.category);
            // The path is as sure as its least sure level.
            let sure = category
                .levels
                .iter()
                .map(|l| l.confidence)
                .fold(category.confidence, f32::min);
            let percent = (sure * 100.0).round();
            let words = category.words().join("、");
            reasons.push(if self.lang.is_en() {
                format!("Category {name} ({percent}% sure), from the words {words}")
            } else {
                format!("分类为{name}（把握 {percent}%），依据：{words}")
            });
        }
        if let Some(urgency) = &decision.tier {
            let tier = self.tier(&urgency.tier);
            let words = urgency.reasons.join("、");
            reasons.push(if self.lang.is_en() {
                format!("Handled as {tier}: the text says {words}")
            } else {
                format!("按{tier}办理：内容提到 {words}")
            });
        }
        if let Some(assignment) = &decision.assignment {
            reasons.push(self.duty_basis(&assignment.basis, &assignment.unit));
        } else if let Some(learned) = &decision.learned {
            let unit = self.unit(&learned.unit);
            let percent = (learned.post.confidence * 100.0).round();
            let words = learned.post.reasons.join("、");
            reasons.push(match (learned.taken, self.lang.is_en()) {
                (true, true) => format!(
                    "Sent to {unit}, the unit that handled demands like this ({percent}% sure), from the words {words}"
                ),
                (false, true) => format!(
                    "Suggested unit {unit}, which handled demands like this ({percent}% sure), from the words {words}"
                ),
                (true, false) => {
                    format!("按已办结工单学到的承办单位，派 {unit}（把握 {percent}%），依据：{words}")
                }
                (false, false) => {
                    format!("建议派 {unit}：类似诉求由其办理（把握 {percent}%），依据：{words}")
                }
            });
        }
        reasons
    }

    /// What an event records, beyond its kind (`ui.label(event.change.kind())`), as a
    /// sentence in the reader's language; people's own words stay as they wrote them.
    pub fn event(&self, event: &Event) -> String {
        use Change::*;
        let en = self.lang.is_en();
        let with = |sentence: String, words: &str| {
            if words.trim().is_empty() {
                sentence
            } else if en {
                format!("{sentence}: {words}")
            } else {
                format!("{sentence}：{words}")
            }
        };
        let by_person = !matches!(event.actor.who(), Who::System(..));
        match &event.change {
            Created(intake) => format!(
                "{} · {}",
                self.label(intake.channel),
                self.label(intake.kind)
            ),
            Reclassified {
                category,
                region,
                tier,
                reason,
            } => {
                let mut parts = Vec::new();
                if let Some(category) = category {
                    parts.push(format!(
                        "{} {}",
                        self.t("分类", "Category"),
                        self.category(category)
                    ));
                }
                if let Some(region) = region {
                    parts.push(format!(
                        "{} {}",
                        self.t("属地", "Place"),
                        self.region(region)
                    ));
                }
                if let Some(tier) = tier {
                    parts.push(format!("{} {}", self.t("时限", "Tier"), self.tier(tier)));
                }
                // Routing writes the urgency words it read; a person their own reason.
                match reason {
                    Some(words) if !by_person => {
                        parts.push(format!("{} {words}", self.t("内容提到", "the text says")))
                    }
                    Some(reason) => parts.push(format!("{}{reason}", self.t("原因：", "Why: "))),
                    None => {}
                }
                parts.join(self.t("；", "; "))
            }
            PlaceRead(reading) => {
                let mut parts = Vec::new();
                if let Some(region) = &reading.region {
                    parts.push(self.named_place(
                        region,
                        reading.place.as_deref(),
                        ("内容", "The text"),
                    ));
                }
                if let Some(at) = reading.location {
                    parts.push(format!("{:.5},{:.5}", at.lat, at.lon));
                }
                if let Some(city) = &reading.elsewhere {
                    parts.push(format!(
                        "{} {city}",
                        self.t("属外市", "About another city:")
                    ));
                }
                parts.join(self.t("；", "; "))
            }
            Dispatched {
                unit,
                reason,
                basis,
                ..
            } => {
                let sentence = match basis {
                    Some(basis) => self.duty_basis(basis, unit),
                    None => format!("{} {}", self.t("派至", "To"), self.unit(unit)),
                };
                // Routing's own account is for the API; the rule says it here.
                with(sentence, if by_person { reason } else { "" })
            }
            Accepted => String::new(),
            FollowedUp {
                text,
                channel: Some(channel),
            } => with(
                format!("{}{}", self.t("来自", "By "), self.label(*channel)),
                text,
            ),
            FollowedUp {
                text,
                channel: None,
            } => text.clone(),
            Returned { reason }
            | Reopened { reason, .. }
            | Urged { note: reason }
            | Resolved { reply: reason }
            | HandledOnSpot { note: reason }
            | AnsweredAtIntake {
                answer: reason,
                article: None,
            } => reason.clone(),
            Redispatched { unit, reason, .. } => with(
                format!("{} {}", self.t("转派至", "Passed down to"), self.unit(unit)),
                reason,
            ),
            AnsweredAtIntake {
                answer,
                article: Some(article),
            } => format!(
                "{answer}（{} {article}）",
                self.t("知识库条目", "knowledge-base article")
            ),
            AttachmentAdded(file) => format!(
                "{} ({} KB)",
                file.name.as_deref().unwrap_or(self.t("附件", "a file")),
                file.size.div_ceil(1024)
            ),
            Rated(rating) => format!(
                "{} {} · {}",
                self.t("问题已解决：", "Solved:"),
                self.pick(yes_no(rating.solved)),
                self.label(rating.satisfaction)
            ),
            Closed { reason } => reason.clone().unwrap_or_default(),
            ReturnRejected { unit, reason, .. } => with(
                format!(
                    "{} {}",
                    self.t("退单不成立，退回", "Return refused, back to"),
                    self.unit(unit)
                ),
                reason,
            ),
            ExtensionRequested { resolve_by, reason } => with(
                format!(
                    "{} {}",
                    self.t("申请延期至", "Asks for time until"),
                    self.time(*resolve_by)
                ),
                reason,
            ),
            ExtensionDecided {
                approved: true,
                resolve_by,
                reason,
            } => with(
                format!(
                    "{} {}",
                    self.t("同意延期至", "Extended until"),
                    self.time(*resolve_by)
                ),
                reason.as_deref().unwrap_or_default(),
            ),
            ExtensionDecided {
                approved: false,
                reason,
                ..
            } => with(
                self.t("不同意延期", "Extension refused").to_owned(),
                reason.as_deref().unwrap_or_default(),
            ),
            MarkedLongTerm { reason, review_on } => with(
                format!(
                    "{} {}",
                    self.t("挂账，复核日", "Long-term, reviewed on"),
                    self.date(*review_on)
                ),
                reason,
            ),
            LongTermLifted { reason, resolve_by } => with(
                format!(
                    "{} {}",
                    self.t("解除挂账，办结期限", "Long-term lifted, to be resolved by"),
                    self.time(*resolve_by)
                ),
                reason,
            ),
            LongTermReviewDue { review_on } => format!(
                "{} {}",
                self.t("挂账复核日", "Long-term review day"),
                self.date(*review_on)
            ),
            Reassigned { unit, reason, .. } => with(
                format!("{} {}", self.t("改派至", "Reassigned to"), self.unit(unit)),
                reason,
            ),
            TransferredCity {
                to,
                reason,
                respond_by,
                ..
            } => with(
                format!(
                    "{} {to} ({} {})",
                    self.t("转办至", "Handed to city"),
                    self.t("应签收于", "to be taken by"),
                    self.time(*respond_by)
                ),
                reason,
            ),
            CheckAssigned { task, kind, note } => {
                with(format!("{} #{task}", self.label(*kind)), note)
            }
            CheckReported { task, note, photo } => with(
                format!(
                    "#{task} {} ({})",
                    self.t("已到现场", "Done on the spot"),
                    photo.name.as_deref().unwrap_or(self.t("照片", "a photo"))
                ),
                note,
            ),
            Summoned { units, note } => with(
                format!(
                    "{} {}",
                    self.t("吹哨，召集", "Summoned"),
                    units
                        .iter()
                        .map(|u| self.unit(u))
                        .collect::<Vec<_>>()
                        .join(self.t("、", ", "))
                ),
                note,
            ),
            PartAccepted { unit } => {
                format!("{} {}", self.unit(unit), self.t("已报到", "took part"))
            }
            PartReported { unit, report } => with(
                format!("{} {}", self.unit(unit), self.t("反馈", "reported")),
                report,
            ),
            Merged { into, reason } => with(
                format!("{} {into}", self.t("并入主单", "Merged into")),
                reason,
            ),
            Unmerged { from, reason } => with(
                format!("{} {from}", self.t("移出主单", "Taken out of")),
                reason,
            ),
            CaseJoined { ticket, reason } => with(
                format!("{ticket} {}", self.t("并入本单", "merged into this case")),
                reason,
            ),
            CaseLeft { ticket, reason } => with(
                format!("{ticket} {}", self.t("移出本单", "taken out of this case")),
                reason,
            ),
            CaseReplied { case, reply } => with(
                format!("{} {case}", self.t("主单答复", "Main case replied")),
                reply,
            ),
            Warned { deadline, due_by } => format!(
                "{}{} {}",
                self.label(*deadline),
                self.t("将到：", " due "),
                self.time(*due_by)
            ),
            Overdue { deadline, due_by } => format!(
                "{}{} {}",
                self.label(*deadline),
                self.t("已过：", " passed "),
                self.time(*due_by)
            ),
            Escalated { to, .. } => {
                format!("{} {}", self.t("升级至", "Escalated to"), self.label(*to))
            }
            CallbackDue => self.t("请回访市民", "Call the citizen back").to_owned(),
        }
    }
}
