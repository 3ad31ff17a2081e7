/** A decider as plain functions: what happened so far (state) and a command give new events. */
export interface Decider<Command, State, Event> {
  initialState: () => State;
  evolve: (state: State, event: Event) => State;
  /** Throws a DomainError when the command cannot be carried out; returns [] when there is nothing to do. */
  decide: (command: Command, state: State) => Event[];
}

export function fold<State, Event>(decider: Pick<Decider<unknown, State, Event>, 'initialState' | 'evolve'>, events: Event[]): State {
  return events.reduce(decider.evolve, decider.initialState());
}
