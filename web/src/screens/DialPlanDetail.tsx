// One dial plan: its rules in the order they are tried (Up/Down to reorder), a
// form to add one, and a live simulation of what the proxies would do with a number.
import { useDeferredValue, useState } from "react";
import { useNavigate, useParams } from "react-router-dom";
import { useMutation, useQuery } from "urql";
import { describeError, mapUserErrors, noErrors, type FormErrors } from "../api/errors";
import { useSession } from "../auth/session";
import { graphql } from "../gql";
import { ConfirmButton } from "../ui/confirm";
import { Field, formValues, GeneralErrors } from "../ui/form";
import { moved } from "../ui/reorder";

const DialPlanDocument = graphql(`
  query DialPlan($id: ID!) {
    node(id: $id) {
      __typename
      ... on DialPlan {
        id
        name
        description
        rules { id priority description matchExpression substitutionExpression replacement }
      }
    }
  }
`);
const SimulateDocument = graphql(`
  query DialPlanSimulate($dialPlan: ID!, $number: String!, $countryCode: String!, $areaCode: String!) {
    dialPlanSimulate(dialPlan: $dialPlan, number: $number, countryCode: $countryCode, areaCode: $areaCode) {
      result
      failure
      matchedRule { id description }
      tried { matched rule { id description matchExpression } }
      errors { field code message }
    }
  }
`);
const RuleCreateDocument = graphql(`
  mutation DialPlanRuleCreate($input: DialPlanRuleCreateInput!) {
    dialPlanRuleCreate(input: $input) { dialPlanRule { id } errors { field code message } }
  }
`);
const RuleDeleteDocument = graphql(`
  mutation DialPlanRuleDelete($input: DialPlanRuleDeleteInput!) {
    dialPlanRuleDelete(input: $input) { deletedId errors { field code message } }
  }
`);
const ReorderDocument = graphql(`
  mutation DialPlanRulesReorder($input: DialPlanRulesReorderInput!) {
    dialPlanRulesReorder(input: $input) { dialPlan { id rules { id priority } } errors { field code message } }
  }
`);
const DeleteDocument = graphql(`
  mutation DialPlanDelete($input: DialPlanDeleteInput!) {
    dialPlanDelete(input: $input) { deletedId errors { field code message } }
  }
`);

const RULE_FIELDS = ["matchExpression", "substitutionExpression", "replacement", "description"];

export default function DialPlanDetail() {
  const id = useParams().id!;
  const navigate = useNavigate();
  const { canEdit } = useSession();
  const [{ data, fetching, error }, refetch] = useQuery({ query: DialPlanDocument, variables: { id } });
  const [, createRule] = useMutation(RuleCreateDocument);
  const [, deleteRule] = useMutation(RuleDeleteDocument);
  const [, reorder] = useMutation(ReorderDocument);
  const [, remove] = useMutation(DeleteDocument);
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const [listErrors, setListErrors] = useState<FormErrors>(noErrors);
  const plan = data?.node?.__typename === "DialPlan" ? data.node : null;
  if (fetching && !data) return <p role="status">Loading…</p>;
  if (!plan) return <section><h1>Dial plan not found</h1><GeneralErrors errors={noErrors} extra={describeError(error)} /></section>;
  const rules = [...plan.rules].sort((a, b) => a.priority - b.priority);
  const reload = () => refetch({ requestPolicy: "network-only" });
  return (
    <section>
      <h1>Dial plan {plan.name}</h1>
      <p>{plan.description}</p>
      <GeneralErrors errors={listErrors} />
      <table>
        <caption className="visually-hidden">Rules, in the order they are tried</caption>
        <thead>
          <tr><th scope="col">#</th><th scope="col">Description</th><th scope="col">Match</th><th scope="col">Substitute</th>
            <th scope="col">Replacement</th>{canEdit && <th scope="col">Actions</th>}</tr>
        </thead>
        <tbody>
          {rules.map((rule, index) => (
            <tr key={rule.id}>
              <td>{index + 1}</td>
              <td>{rule.description}</td>
              <td><code>{rule.matchExpression}</code></td>
              <td><code>{rule.substitutionExpression}</code></td>
              <td><code>{rule.replacement}</code></td>
              {canEdit && (
                <td className="actions">
                  {([-1, 1] as const).map((delta) => (
                    <button key={delta} type="button" disabled={index + delta < 0 || index + delta >= rules.length}
                      aria-label={`Move rule ${index + 1} ${delta < 0 ? "up" : "down"}`}
                      onClick={async () => {
                        const order = moved(rules, index, delta).map((rule) => rule.id);
                        const payload = (await reorder({ input: { dialPlan: id, rules: order } })).data?.dialPlanRulesReorder;
                        setListErrors(mapUserErrors(payload?.errors));
                        reload();
                      }}>
                      {delta < 0 ? "Up" : "Down"}
                    </button>
                  ))}
                  <ConfirmButton label="Delete" title={`Delete rule ${index + 1}?`} onConfirm={async () => {
                    const payload = (await deleteRule({ input: { id: rule.id } })).data?.dialPlanRuleDelete;
                    setListErrors(mapUserErrors(payload?.errors));
                    reload();
                  }} />
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      <div className="grid2">
        {canEdit && (
          <form className="card" aria-label="New rule" onSubmit={async (event) => {
            event.preventDefault();
            const form = event.currentTarget;
            const values = formValues(form);
            const payload = (await createRule({ input: {
              dialPlan: id,
              matchExpression: values.matchExpression,
              substitutionExpression: values.substitutionExpression,
              replacement: values.replacement,
              description: values.description,
            } })).data?.dialPlanRuleCreate;
            setErrors(mapUserErrors(payload?.errors, RULE_FIELDS));
            if (payload?.dialPlanRule) {
              form.reset();
              reload();
            }
          }}>
            <h2>Add a rule</h2>
            <GeneralErrors errors={errors} />
            <Field label="Description" name="description" errors={errors} />
            <Field label="Match expression" name="matchExpression" required placeholder="^([2-9][0-9]{6})$" errors={errors} />
            <Field label="Substitution expression" name="substitutionExpression" required placeholder="^([2-9][0-9]{6})$" errors={errors} />
            <Field label="Replacement" name="replacement" required placeholder="+_CC__AC_\1" errors={errors}
              hint="\1..\9, _CC_ (caller's country code) and _AC_ (area code)." />
            <button type="submit">Add rule</button>
          </form>
        )}
        <Simulator dialPlan={id} />
      </div>
      {canEdit && (
        <ConfirmButton label="Delete dial plan" title={`Delete dial plan ${plan.name}?`} onConfirm={async () => {
          const payload = (await remove({ input: { id } })).data?.dialPlanDelete;
          setListErrors(mapUserErrors(payload?.errors));
          if (payload?.deletedId) navigate("/dial-plans");
        }}>
          <p>A dial plan that tenants use cannot be deleted.</p>
        </ConfirmButton>
      )}
    </section>
  );
}

// Asks dialPlanSimulate as the user types (the deferred value keeps typing smooth).
function Simulator({ dialPlan }: { dialPlan: string }) {
  const [number, setNumber] = useState("");
  const [countryCode, setCountryCode] = useState("1");
  const [areaCode, setAreaCode] = useState("");
  const variables = useDeferredValue({ dialPlan, number, countryCode, areaCode });
  const [{ data, error }] = useQuery({
    query: SimulateDocument,
    variables,
    pause: !variables.number || !variables.countryCode,
    requestPolicy: "network-only",
  });
  const simulation = data?.dialPlanSimulate;
  return (
    <div className="card" aria-label="Simulation">
      <h2>Try a number</h2>
      <div className="field">
        <label htmlFor="sim-number">Dialled number</label>
        <input id="sim-number" value={number} onChange={(e) => setNumber(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="sim-cc">Caller's country code</label>
        <input id="sim-cc" value={countryCode} onChange={(e) => setCountryCode(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="sim-ac">Caller's area code</label>
        <input id="sim-ac" value={areaCode} onChange={(e) => setAreaCode(e.target.value)} />
      </div>
      <div aria-live="polite">
        {error && <p role="alert">{describeError(error)}</p>}
        {simulation?.errors.map((e) => <p key={e.message} role="alert">{e.message}</p>)}
        {simulation && simulation.errors.length === 0 && (
          simulation.result ? (
            <p>
              Becomes <strong data-testid="simulation-result">{simulation.result}</strong>
              {simulation.matchedRule && ` (rule: ${simulation.matchedRule.description || simulation.matchedRule.id})`}
            </p>
          ) : (
            <p>No rule matches{simulation.failure ? `: ${simulation.failure}` : ""}.</p>
          )
        )}
      </div>
    </div>
  );
}
