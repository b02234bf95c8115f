//! `minhu ticket`: read and act on one ticket from the command line, through the same
//! engine and state machine as the API. Output is JSON, for people and scripts alike.

use crate::Place;
use anyhow::Context;
use minhu_core::event::Actor;
use minhu_core::ids::TicketNumber;
use minhu_core::workflow::Command;

#[derive(clap::Subcommand)]
pub enum TicketCommand {
    /// The ticket as it stands now.
    Show {
        number: String,
        #[command(flatten)]
        place: Place,
    },
    /// The ticket's event log (留痕): who did what, when and why.
    Events {
        number: String,
        #[command(flatten)]
        place: Place,
    },
    /// One workflow action, as the API's body: '{"action":"accept"}'. Recorded as
    /// done by `user:AS`.
    Act {
        number: String,
        action: String,
        #[arg(long = "as")]
        actor: String,
        #[command(flatten)]
        place: Place,
    },
}

pub async fn run(command: TicketCommand) -> anyhow::Result<()> {
    let (number, place) = match &command {
        TicketCommand::Show { number, place }
        | TicketCommand::Events { number, place }
        | TicketCommand::Act { number, place, .. } => (number, place),
    };
    let number = TicketNumber::parse(number).map_err(|e| anyhow::anyhow!("number: {e}"))?;
    let engine =
        crate::server::open_engine(place, std::sync::Arc::new(minhu_core::SystemClock)).await?;
    let out = match &command {
        TicketCommand::Show { .. } => serde_json::to_string_pretty(&engine.ticket(&number).await?),
        TicketCommand::Events { .. } => {
            serde_json::to_string_pretty(&engine.events(&number).await?)
        }
        TicketCommand::Act { action, actor, .. } => {
            let command: Command = serde_json::from_str(action)
                .with_context(|| format!("action: {action:?} is not an action"))?;
            let ticket = engine.act(&number, command, Actor::user(actor)).await?;
            serde_json::to_string_pretty(&ticket)
        }
    }?;
    println!("{out}");
    Ok(())
}
