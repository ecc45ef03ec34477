// Choices for <select>s that point at other objects (plans, carriers, dial plans...).
import { useQuery } from "urql";
import { graphql } from "../gql";

const ChoicesDocument = graphql(`
  query Choices {
    servicePlans(first: 100) { edges { node { id name } } }
    carriers(first: 100) { edges { node { id name } } }
    dialPlans(first: 100) { edges { node { id name } } }
    customers(first: 100) { edges { node { id name } } }
  }
`);

export type Option = { value: string; label: string };

export function useChoices(): Record<"servicePlans" | "carriers" | "dialPlans" | "customers", Option[]> {
  const [{ data }] = useQuery({ query: ChoicesDocument });
  const options = (edges?: readonly { node: { id: string; name: string } }[]) =>
    (edges ?? []).map((edge) => ({ value: edge.node.id, label: edge.node.name }));
  return {
    servicePlans: options(data?.servicePlans.edges),
    carriers: options(data?.carriers.edges),
    dialPlans: options(data?.dialPlans.edges),
    customers: options(data?.customers.edges),
  };
}

export const none = (label = "none"): Option => ({ value: "", label: `(${label})` });
