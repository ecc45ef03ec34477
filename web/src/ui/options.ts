// Choices for <select>s that point at other objects (plans, carriers, dial plans...).
// One small query per kind, only where a screen needs it, and answered from the cache
// when it has them: every mutation invalidates the lists (api/client.ts), so a cached
// answer is never older than the viewer's last change. Each list costs query budget
// (page size x fields), so screens must not ask for kinds they do not show.
import { useQuery } from "urql";
import { graphql } from "../gql";

const ServicePlanChoicesDocument = graphql(`
  query ServicePlanChoices { servicePlans(first: 100) { edges { node { id name } } } }
`);
const CarrierChoicesDocument = graphql(`
  query CarrierChoices { carriers(first: 100) { edges { node { id name } } } }
`);
const DialPlanChoicesDocument = graphql(`
  query DialPlanChoices { dialPlans(first: 100) { edges { node { id name } } } }
`);
const CustomerChoicesDocument = graphql(`
  query CustomerChoices { customers(first: 100) { edges { node { id name } } } }
`);

export type Option = { value: string; label: string };
type Edges = readonly { node: { id: string; name: string } }[] | undefined;

// Undefined until the list is in: a <select> with a default value must not be drawn
// before its options exist, or it would show (and save) its first option instead.
const options = (edges: Edges): Option[] | undefined => edges?.map((edge) => ({ value: edge.node.id, label: edge.node.name }));

export function useServicePlanChoices(pause = false): Option[] | undefined {
  const [{ data }] = useQuery({ query: ServicePlanChoicesDocument, requestPolicy: "cache-first", pause });
  return options(data?.servicePlans.edges);
}

export function useCarrierChoices(pause = false): Option[] | undefined {
  const [{ data }] = useQuery({ query: CarrierChoicesDocument, requestPolicy: "cache-first", pause });
  return options(data?.carriers.edges);
}

export function useDialPlanChoices(pause = false): Option[] | undefined {
  const [{ data }] = useQuery({ query: DialPlanChoicesDocument, requestPolicy: "cache-first", pause });
  return options(data?.dialPlans.edges);
}

export function useCustomerChoices(pause = false): Option[] | undefined {
  const [{ data }] = useQuery({ query: CustomerChoicesDocument, requestPolicy: "cache-first", pause });
  return options(data?.customers.edges);
}

export const none = (label = "none"): Option => ({ value: "", label: `(${label})` });

const TenantChoicesDocument = graphql(`
  query TenantChoices { tenants(first: 100) { edges { node { id name } } } }
`);

export function useTenantChoices(pause = false): Option[] | undefined {
  const [{ data }] = useQuery({ query: TenantChoicesDocument, requestPolicy: "cache-first", pause });
  return options(data?.tenants.edges);
}
